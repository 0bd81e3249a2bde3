import { randomUUID } from 'node:crypto';
import { link, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

import {
  FEED_ID,
  parseRevocationEntry,
  type RevocationEntry,
  type RevocationFeedPage,
  type RevocationRequest,
} from '../../../revocation/revocation-entry.js';
import type { Logger } from '../../../telemetry/create-logger.js';
import { makeDir } from '../../../util/make-dir.js';
import { probeLinkableDir, removeStaleFiles, writeDurably } from '../../../util/write-durably.js';
import { RevocationIndex } from '../revocation-index.js';
import { type RevocationLog, RevocationStoreError } from '../revocation-log.js';

export interface DirectoryRevocationLogOptions {
  /** The store's directory (`<--data>/revocations`). Several replicas may share it. */
  readonly dir: string;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** How long an expired entry stays on disk before compaction deletes it (see the scheme below). */
  readonly graceSeconds?: number;
  readonly logger?: Logger;
}

const ENTRY_FILE = /^(\d{16})\.json$/;
const FEED_FILE = 'feed.json';
const entryName = (seq: number) => `${String(seq).padStart(16, '0')}.json`;
const TMP_MAX_AGE_MS = 3_600_000;
const MAX_ALLOCATION_ATTEMPTS = 1_000;

/**
 * The revocation feed's storage: one immutable JSON file per entry, `entries/<seq, 16 digits>.json`.
 *
 * Sequence numbers are allocated so that replicas sharing the directory never hand out the same one:
 * an entry is written completely to `tmp/` and then hard-linked to its numbered name. link(2) fails with
 * EEXIST when the name is taken (atomically, on local filesystems and NFS alike), and the file appears
 * whole, never half-written. The allocator takes the highest number it can see plus one and, on EEXIST,
 * rescans and tries the next. Since number n+1 is only ever tried once n exists, a directory listing
 * that shows n shows a complete history up to n, except for compacted entries.
 *
 * Compaction deletes entries that expired more than `graceSeconds` ago, but never the entry with the
 * highest number, so the highest number ever issued is always on disk and is never issued again. The
 * grace keeps a number that a stalled allocator might have seen as "highest" from disappearing under it.
 *
 * Each replica keeps every entry in memory and picks up the others' by a rescan, which the directory store
 * runs on fs.watch events and periodically (directory-store.ts).
 * A listing taken while another replica creates files may show a new file yet miss an older one created
 * concurrently; a scan therefore lists twice and accepts the second listing only up to the first one's
 * highest number, which everything below was created before the second listing began.
 */
export class DirectoryRevocationLog implements RevocationLog {
  readonly entriesDir: string;
  readonly #tmpDir: string;
  readonly #now: () => number;
  readonly #graceSeconds: number;
  readonly #logger: Logger | undefined;
  /** Numbers on disk whose file does not parse; they count as taken. */
  readonly #unreadable = new Set<number>();
  readonly #listeners = new Set<() => void>();
  #index!: RevocationIndex;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: DirectoryRevocationLogOptions) {
    this.entriesDir = path.join(options.dir, 'entries');
    this.#tmpDir = path.join(options.dir, 'tmp');
    this.#now = options.now ?? Date.now;
    this.#graceSeconds = options.graceSeconds ?? 300;
    this.#logger = options.logger;
  }

  /** Creates the directories if needed, checks that they are writable and support hard links, loads and compacts. */
  static async open(options: DirectoryRevocationLogOptions): Promise<DirectoryRevocationLog> {
    const store = new DirectoryRevocationLog(options);
    try {
      await makeDir(store.entriesDir);
      await probeLinkableDir(store.#tmpDir);
    } catch (err) {
      throw new RevocationStoreError(
        `${options.dir}: not usable for revocations (needs a writable directory with hard links): ${(err as Error).message}`,
      );
    }
    store.#index = new RevocationIndex(await store.#feedId(path.join(options.dir, FEED_FILE)), store.#now);
    await store.scan();
    await store.compact();
    return store;
  }

  /**
   * This feed's identity, made once with the storage (`feed.json`) and shared by replicas on the same
   * directory. Lost data means a new id: clients then know the numbers they hold belong to another feed.
   */
  get feed(): string {
    return this.#index.feed;
  }

  /** The highest sequence number issued (0 when none). */
  get seq(): number {
    return this.#index.max;
  }

  get liveCount(): number {
    return this.#index.liveCount();
  }

  /** Called whenever `seq` grows or compaction removes entries. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stores a new entry under the next free sequence number. */
  add(request: RevocationRequest): Promise<RevocationEntry> {
    return this.#exclusive(async () => {
      const createdAt = this.#nowSeconds();
      for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
        await this.#scanLocked();
        const entry: RevocationEntry = { seq: this.#index.max + 1, ...request, createdAt };
        const tmp = path.join(this.#tmpDir, `${process.pid}-${randomUUID()}.json`);
        await writeDurably(tmp, `${JSON.stringify(entry)}\n`);
        try {
          await link(tmp, path.join(this.entriesDir, entryName(entry.seq)));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw err;
        } finally {
          await unlink(tmp).catch(() => {});
        }
        this.#index.set(entry);
        this.#index.max = entry.seq;
        this.#emit();
        return entry;
      }
      throw new RevocationStoreError(`no free sequence number after ${MAX_ALLOCATION_ATTEMPTS} attempts`);
    });
  }

  page(since: number, feed?: string): RevocationFeedPage {
    return this.#index.page(since, feed);
  }

  isCurrent(since: number, feed?: string): boolean {
    return this.#index.isCurrent(since, feed);
  }

  /** Picks up entries other replicas wrote and drops entries they compacted. */
  scan(): Promise<void> {
    return this.#exclusive(() => this.#scanLocked());
  }

  /** Deletes entries expired for longer than the grace (never the newest) and stale temporary files. */
  compact(): Promise<number> {
    return this.#exclusive(async () => {
      const now = this.#nowSeconds();
      let removed = 0;
      for (const entry of [...this.#index.values()]) {
        if (entry.seq === this.#index.max || entry.expiresAt + this.#graceSeconds >= now) continue;
        try {
          await unlink(path.join(this.entriesDir, entryName(entry.seq)));
        } catch (err) {
          // Another replica compacted it first.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        this.#index.delete(entry.seq);
        this.#index.horizon = entry.seq;
        removed++;
      }
      await removeStaleFiles(this.#tmpDir, TMP_MAX_AGE_MS);
      if (removed > 0) {
        this.#logger?.info({ removed, seq: this.#index.max }, 'revocations compacted');
        this.#emit();
      }
      return removed;
    });
  }

  /** Reads the feed id, or creates it; link(2) makes one replica's id the id when two start together. */
  async #feedId(file: string): Promise<string> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const parsed = JSON.parse(await readFile(file, 'utf8')) as { feed?: unknown };
        if (typeof parsed.feed !== 'string' || !FEED_ID.test(parsed.feed)) throw new Error('expected {"feed": "<id>"}');
        return parsed.feed;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new RevocationStoreError(
            `${file}: unreadable (${(err as Error).message}); delete it to start a new feed (sidecars keep what they hold)`,
          );
        }
      }
      const tmp = path.join(this.#tmpDir, `${process.pid}-${randomUUID()}.json`);
      await writeDurably(tmp, `${JSON.stringify({ feed: randomUUID(), createdAt: this.#nowSeconds() })}\n`);
      try {
        await link(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        await unlink(tmp).catch(() => {});
      }
    }
    throw new RevocationStoreError(`${file}: could not be created`);
  }

  async #scanLocked(): Promise<void> {
    const first = await this.#list();
    const second = await this.#list();
    let limit = 0;
    for (const seq of first) limit = Math.max(limit, seq);
    const present = new Set<number>();
    for (const seq of [...first, ...second]) if (seq <= limit) present.add(seq);

    let changed = false;
    for (const seq of [...this.#index.seqs(), ...this.#unreadable]) {
      // Above `limit` this listing proves nothing: such a file may have been created while it ran.
      if (present.has(seq) || seq > limit) continue;
      this.#index.delete(seq);
      this.#unreadable.delete(seq);
      changed = true;
    }
    for (const seq of present) {
      if (this.#index.has(seq) || this.#unreadable.has(seq)) continue;
      const entry = await this.#read(seq);
      if (entry === 'gone') present.delete(seq);
      else if (entry === 'unreadable') this.#unreadable.add(seq);
      else this.#index.set(entry);
      changed = true;
    }
    const max = Math.max(this.#index.max, limit);
    // Below the newest number every gap is a compacted entry.
    const sorted = [...present].sort((a, b) => a - b);
    let horizon = sorted.length > 0 ? sorted[0]! - 1 : 0;
    for (let i = sorted.length - 1; i > 0; i--) {
      if (sorted[i]! - sorted[i - 1]! > 1) {
        horizon = sorted[i]! - 1;
        break;
      }
    }
    horizon = Math.max(this.#index.horizon, horizon);
    if (max !== this.#index.max || horizon !== this.#index.horizon) changed = true;
    this.#index.max = max;
    this.#index.horizon = horizon;
    if (changed) this.#emit();
  }

  async #list(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdir(this.entriesDir)) {
      const m = ENTRY_FILE.exec(name);
      if (m !== null) out.push(Number(m[1]));
    }
    return out;
  }

  async #read(seq: number): Promise<RevocationEntry | 'gone' | 'unreadable'> {
    let text: string;
    try {
      text = await readFile(path.join(this.entriesDir, entryName(seq)), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
    let parsed;
    try {
      parsed = parseRevocationEntry(JSON.parse(text));
    } catch {
      parsed = { ok: false, detail: 'invalid JSON' } as const;
    }
    if (!parsed.ok || parsed.value.seq !== seq) {
      this.#logger?.error(
        { file: entryName(seq), detail: parsed.ok ? 'seq does not match the file name' : parsed.detail },
        'unreadable revocation entry ignored',
      );
      return 'unreadable';
    }
    return parsed.value;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #emit(): void {
    for (const listener of this.#listeners) listener();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}
