import { randomUUID } from 'node:crypto';
import { link, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

import { probeLinkableDir, removeStaleFiles, syncDirectory, writeDurably } from '../../../util/write-durably.js';
import {
  type BundlePointer,
  type BundleRepository,
  BundleRepositoryError,
  type CommitResult,
} from '../bundle-repository.js';

const BUNDLE_FILE = /^([1-9]\d{0,15})\.tar\.gz$/;
export const POINTER_FILE = 'current.json';

/**
 * The published bundles of one name on disk: `<dir>/<revision>.tar.gz`, immutable once written, and
 * `<dir>/current.json` naming the one being served.
 *
 * A bundle file is written to `tmp/` and hard-linked to its name, which fails if a replica sharing the
 * directory took that revision first, so two replicas never overwrite each other's bundles. The pointer is
 * replaced with rename(2), so a reader (or a restart) sees the old pointer or the new, never half of one.
 */
export class DirectoryBundleRepository implements BundleRepository {
  readonly dir: string;
  readonly #tmp: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#tmp = path.join(dir, 'tmp');
  }

  static async open(dir: string): Promise<DirectoryBundleRepository> {
    const repo = new DirectoryBundleRepository(dir);
    try {
      await probeLinkableDir(repo.#tmp);
    } catch (err) {
      throw new BundleRepositoryError(
        `${dir}: not usable for bundles (needs a writable directory with hard links): ${(err as Error).message}`,
      );
    }
    return repo;
  }

  /** Revisions on disk, newest first. */
  async revisions(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdir(this.dir)) {
      const m = BUNDLE_FILE.exec(name);
      if (m !== null) out.push(Number(m[1]));
    }
    return out.sort((a, b) => b - a);
  }

  async read(revision: number): Promise<Uint8Array> {
    return readFile(this.#file(revision));
  }

  /** Stores a bundle under `revision`; false if that revision exists already (another replica took it). */
  async create(revision: number, bytes: Uint8Array): Promise<boolean> {
    const tmp = path.join(this.#tmp, `${process.pid}-${randomUUID()}.tar.gz`);
    await writeDurably(tmp, bytes);
    try {
      await link(tmp, this.#file(revision));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /**
   * Links the bundle into place (refused if the number is taken), then moves the pointer unless it names a
   * higher revision. Between the two steps a replica on the same directory may move the pointer too; the
   * last rename wins, and a publisher that lost re-reads the pointer at its next sync (pointers only name
   * verified bundles, and sidecars never go back, so the worst case is one publication served a little later).
   */
  async commit(revision: number, bytes: Uint8Array, digest: string): Promise<CommitResult> {
    if (!(await this.create(revision, bytes))) return 'taken';
    const pointer = await this.readPointer().catch(() => undefined);
    if (pointer !== undefined && pointer.revision > revision) {
      // Nothing stays of a commit that did not move the pointer, as in every store: the number was ours
      // (link claimed it), so no other replica reads or writes this file.
      await unlink(this.#file(revision)).catch(() => {});
      return 'overtaken';
    }
    await this.writePointer({ revision, digest });
    return 'committed';
  }

  /** The recorded pointer, undefined when none was ever written; throws on a corrupt one. */
  async readPointer(): Promise<BundlePointer | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, POINTER_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: Partial<BundlePointer>;
    try {
      parsed = JSON.parse(text) as Partial<BundlePointer>;
    } catch {
      throw new BundleRepositoryError(`${path.join(this.dir, POINTER_FILE)}: not JSON`);
    }
    if (!Number.isSafeInteger(parsed.revision) || parsed.revision! < 1 || typeof parsed.digest !== 'string') {
      throw new BundleRepositoryError(
        `${path.join(this.dir, POINTER_FILE)}: expected {"revision": integer, "digest": string}`,
      );
    }
    return { revision: parsed.revision!, digest: parsed.digest };
  }

  async writePointer(pointer: BundlePointer): Promise<void> {
    const tmp = path.join(this.#tmp, `${process.pid}-${randomUUID()}.json`);
    await writeDurably(tmp, Buffer.from(`${JSON.stringify(pointer)}\n`));
    await rename(tmp, path.join(this.dir, POINTER_FILE));
    // The rename itself must survive a power loss too, or a restart could serve the previous revision.
    await syncDirectory(this.dir);
  }

  /** Deletes all but the `keep` newest revisions, never `protect` (the served one). Returns what it deleted. */
  async prune(keep: number, protect: number): Promise<number[]> {
    const removed: number[] = [];
    for (const revision of (await this.revisions()).slice(keep)) {
      if (revision === protect) continue;
      await unlink(this.#file(revision)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      removed.push(revision);
    }
    return removed;
  }

  /** Deletes temporary files a crashed writer left behind (an hour old or more). */
  removeStaleTmp(): Promise<void> {
    return removeStaleFiles(this.#tmp, 3_600_000);
  }

  #file(revision: number): string {
    return path.join(this.dir, `${revision}.tar.gz`);
  }
}
