import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { makeDir } from '../util/make-dir.js';
import { parseJson } from '../util/parse-json.js';
import { replaceDurably } from '../util/write-durably.js';
import { FEED_ID, parseRevocationEntry, type RevocationEntry } from './revocation-entry.js';
import type { RevocationList } from './revocation-list.js';

/** The list as persisted: where it stands in its feed, when it last heard from the feed, and its entries. */
export interface PersistedRevocations {
  readonly feed: string | undefined;
  readonly seq: number;
  /** Epoch milliseconds of the last feed answer this list reflects. */
  readonly syncedAt: number;
  readonly entries: readonly RevocationEntry[];
}

export type RevocationCacheLoad =
  | { readonly kind: 'loaded'; readonly list: PersistedRevocations }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly detail: string };

export const REVOCATION_CACHE_FILE = 'revocations.json';
const FORMAT = 'authzd.revocations.v1';
/** A sync time this far ahead of the clock is not believed: it would make the list look fresh for too long. */
const FUTURE_SKEW_MS = 300_000;

/**
 * The sidecar's revocation list on local disk (`<cacheDir>/revocations.json`), so that a restart, with the
 * control plane away or not, does not forget what was revoked. Written after every change and at least
 * every minute while the feed answers (so its sync time stays current), with replaceDurably: a crash
 * leaves the old list or the new one, never a torn one.
 *
 * Integrity: the file carries the SHA-256 of its content and is refused as a whole when the digest, the
 * shape or any entry does not check out. That catches damage (a bit flipped on disk, an edit by hand, a
 * copy cut short), which could otherwise silently drop or alter one revocation and let a revoked token
 * through. It is not a signature and does not try to be: the file is written by the sidecar itself, and
 * anyone who can write the cache directory could recompute a digest, or a MAC with a key the sidecar must
 * also be able to read. Such a writer is inside the sidecar's trust boundary (it could equally replace
 * the binary or its configuration). The directory is created private to the sidecar (mode 0700), and
 * taking the file away, or damaging it, fails safe: the sidecar is then not ready until the feed answers.
 */
export class RevocationCache {
  constructor(readonly file: string) {}

  async load(): Promise<RevocationCacheLoad> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'refused', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
    }
    return parsePersistedRevocations(text, Date.now());
  }

  /** Persists `list` as in sync with its feed at `syncedAt` (epoch ms). */
  async save(list: RevocationList, syncedAt: number): Promise<void> {
    const body: PersistedRevocations = {
      feed: list.feed,
      seq: list.seq,
      syncedAt,
      entries: list.entries(Math.floor(Date.now() / 1000)),
    };
    await makeDir(path.dirname(this.file), 0o700);
    await replaceDurably(this.file, serializePersistedRevocations(body));
  }
}

export function serializePersistedRevocations(list: PersistedRevocations): string {
  const body = { feed: list.feed ?? null, seq: list.seq, syncedAt: list.syncedAt, entries: list.entries };
  return `${JSON.stringify({ format: FORMAT, sha256: digest(body), list: body })}\n`;
}

export function parsePersistedRevocations(text: string, nowMs: number): RevocationCacheLoad {
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch {
    return refused('not JSON (cut short?)');
  }
  if (!isRecord(parsed) || parsed.format !== FORMAT) return refused(`not a ${FORMAT} file`);
  const { sha256, list } = parsed;
  if (!isRecord(list)) return refused('list: expected an object');
  // The body as it was written: JSON.stringify of what JSON.parse read back gives the same text.
  if (typeof sha256 !== 'string' || sha256 !== digest(list))
    return refused('the SHA-256 of the content does not match: the file was altered or damaged');
  const { feed, seq, syncedAt, entries } = list;
  if (feed !== null && (typeof feed !== 'string' || !FEED_ID.test(feed)))
    return refused('feed: expected a feed id or null');
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) return refused('seq: expected a non-negative integer');
  if (!Number.isSafeInteger(syncedAt) || (syncedAt as number) <= 0)
    return refused('syncedAt: expected epoch milliseconds');
  if ((syncedAt as number) > nowMs + FUTURE_SKEW_MS) return refused('syncedAt lies in the future');
  if (!Array.isArray(entries)) return refused('entries: expected an array');
  const out: RevocationEntry[] = [];
  for (const [index, raw] of entries.entries()) {
    const entry = parseRevocationEntry(raw);
    if (!entry.ok) return refused(`entries[${index}]: ${entry.detail}`);
    out.push(entry.value);
  }
  return {
    kind: 'loaded',
    list: {
      feed: feed === null ? undefined : feed,
      seq: seq as number,
      syncedAt: syncedAt as number,
      entries: out,
    },
  };
}

const digest = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');
const refused = (detail: string) => ({ kind: 'refused', detail }) as const;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
