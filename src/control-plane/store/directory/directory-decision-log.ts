import { randomUUID } from 'node:crypto';
import { open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from '../../../telemetry/create-logger.js';
import { makeDir } from '../../../util/make-dir.js';
import { type DecisionLog, DecisionLogStoreError, utcDay } from '../decision-log.js';

export interface DirectoryDecisionLogOptions {
  /** `<--data>/decisions`. Several replicas may share it (see append). */
  readonly dir: string;
  /** Daily files kept, today's included; older ones are deleted. */
  readonly retentionDays: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.ndjson$/;
const DAY_MS = 86_400_000;

/**
 * The control plane's decision log: `YYYY-MM-DD.ndjson`, one file per UTC day of arrival, holding the
 * decision events sidecars ship, one JSON object a line, exactly as they sent them.
 *
 * Each batch is appended with one write(2) on a descriptor opened with O_APPEND. On a local filesystem the
 * kernel places every such write at the end of the file as a whole, so batches from concurrent requests and
 * from replicas on the same machine never interleave or overwrite each other. NFS does not implement
 * O_APPEND across clients (each client computes the end itself), so replicas on different machines sharing
 * one NFS volume can overwrite each other's batches: give them separate `--data` volumes or one ingesting
 * replica (docs/control-plane.md).
 */
export class DirectoryDecisionLog implements DecisionLog {
  readonly #dir: string;
  readonly #retentionDays: number;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;

  private constructor(options: DirectoryDecisionLogOptions) {
    this.#dir = options.dir;
    this.#retentionDays = options.retentionDays;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  /** Creates the directory if needed and checks that it can be written. */
  static async open(options: DirectoryDecisionLogOptions): Promise<DirectoryDecisionLog> {
    const store = new DirectoryDecisionLog(options);
    try {
      await makeDir(options.dir);
      // A unique name: replicas sharing the directory may have one pid (pid 1 in every container).
      const probeFile = path.join(options.dir, `.probe-${process.pid}-${randomUUID()}`);
      const probe = await open(probeFile, 'w');
      await probe.close();
      await unlink(probeFile);
    } catch (err) {
      throw new DecisionLogStoreError(
        `${options.dir}: not usable for decisions (needs a writable directory): ${(err as Error).message}`,
      );
    }
    return store;
  }

  get dir(): string {
    return this.#dir;
  }

  /**
   * Appends `text` (whole lines, each ending in a newline) to today's file with a single write call and
   * returns the file's name. A short write (a full disk) is reported as an error; the partial line it may
   * leave is skipped by readers as not JSON.
   */
  async append(text: string): Promise<string> {
    const name = `${utcDay(this.#now())}.ndjson`;
    const file = path.join(this.#dir, name);
    const bytes = Buffer.from(text, 'utf8');
    const handle = await open(file, 'a', 0o640).catch(async (err: NodeJS.ErrnoException) => {
      // The directory was removed under us (an operator cleaning up): recreate it once.
      if (err.code !== 'ENOENT') throw err;
      await makeDir(this.#dir);
      return open(file, 'a', 0o640);
    });
    try {
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length)
        throw new DecisionLogStoreError(`${name}: short write (${bytesWritten} of ${bytes.length} bytes)`);
    } finally {
      await handle.close();
    }
    return name;
  }

  /** Deletes the daily files older than the retention. Returns how many were deleted. */
  async removeExpired(): Promise<number> {
    const oldestKept = utcDay(this.#now() - (this.#retentionDays - 1) * DAY_MS);
    let removed = 0;
    for (const name of await readdir(this.#dir)) {
      const day = DAY_FILE.exec(name)?.[1];
      // ISO dates compare as strings.
      if (day === undefined || day >= oldestKept) continue;
      try {
        await unlink(path.join(this.#dir, name));
        removed++;
      } catch (err) {
        // Another replica removed it first.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (removed > 0) this.#logger?.info({ removed, oldestKept }, 'expired decision files removed');
    return removed;
  }
}
