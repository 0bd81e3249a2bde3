import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { Config } from '../config/config-schema.js';
import { PolicyModelError } from '../policy/compile-policy-model.js';
import type { Logger } from '../telemetry/create-logger.js';
import { abortableSleep } from '../util/abortable-sleep.js';
import { backoffDelay } from '../util/backoff-delay.js';
import { FetchError, type FetchFailure } from '../util/http-get.js';
import { makeDir } from '../util/make-dir.js';
import { parseJson } from '../util/parse-json.js';
import { replaceDurably } from '../util/write-durably.js';
import type { BundleInfo } from './bundle-format.js';
import { BundleRejectedError } from './bundle-rejections.js';
import { fetchBundle } from './fetch-bundle.js';

/** Where a bundle update failed, for metrics and logs. */
export type BundleFailure =
  | { readonly stage: 'fetch'; readonly reason: FetchFailure }
  | { readonly stage: 'verify'; readonly reason: BundleRejectedError['reason'] }
  | { readonly stage: 'activate'; readonly reason: 'policy_invalid' | 'internal' };

export interface BundleFollowerDeps {
  readonly config: Config['bundle'] & { readonly url: string };
  /** Verify (off-thread), compile, prepare and swap; resolves with what was activated. */
  readonly activate: (bytes: Uint8Array, minRevision: number | undefined) => Promise<BundleInfo>;
  readonly logger: Logger;
  readonly token: string | undefined;
  readonly onFetch?: (result: 'updated' | 'unchanged') => void;
  readonly onFailure?: (failure: BundleFailure) => void;
  readonly onActivated?: (info: BundleInfo, from: 'server' | 'cache') => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly fetch?: typeof fetch;
}

const CACHE_FILE = 'bundle.tar.gz';
const CACHE_META = 'bundle.json';

/**
 * Keeps the sidecar on the newest verified bundle: long-polls the bundle URL with its ETag, activates what
 * changed (verify -> validate -> preparse -> warm -> swap, see start-authzd), and persists the last good
 * bundle so a restart with the control plane away still has policy. A failure at any stage keeps the active
 * set, is logged and counted, and is retried with jittered exponential backoff; a bundle that failed
 * verification is not fetched again, the follower waits for the next revision instead.
 */
export class BundleFollower {
  readonly #deps: BundleFollowerDeps;
  readonly #stop = new AbortController();
  #etag: string | undefined;
  #revision: number | undefined;
  /** The rollback floor while nothing is active: the revision recorded with a cached bundle that was refused. */
  #floor: number | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: BundleFollowerDeps) {
    this.#deps = deps;
  }

  get revision(): number | undefined {
    return this.#revision;
  }

  /**
   * Activates the bundle persisted in the cache directory, re-verified. False when there is none usable.
   * A cached bundle that no longer verifies (a key rotated out, damage on disk) is not served, but the
   * revision recorded beside it stays the rollback floor: losing the cached copy must not let an older,
   * validly signed bundle be replayed.
   */
  async loadCache(): Promise<boolean> {
    const dir = this.#deps.config.cacheDir;
    if (dir === undefined) return false;
    let bytes: Uint8Array;
    let meta: { etag?: unknown; revision?: unknown };
    try {
      bytes = await readFile(path.join(dir, CACHE_FILE));
      meta = parseJson(await readFile(path.join(dir, CACHE_META), 'utf8')) as typeof meta;
    } catch {
      return false;
    }
    const etag = typeof meta.etag === 'string' ? meta.etag : undefined;
    try {
      const info = await this.#deps.activate(bytes, undefined);
      this.#etag = etag;
      this.#revision = info.revision;
      this.#deps.onActivated?.(info, 'cache');
      this.#deps.logger.info({ revision: info.revision, cacheDir: dir }, 'bundle activated from the local cache');
      return true;
    } catch (err) {
      this.#fail(err, 'cached bundle');
      if (Number.isSafeInteger(meta.revision) && (meta.revision as number) > 0) {
        this.#floor = meta.revision as number;
        this.#deps.logger.info(
          { minRevision: this.#floor, cacheDir: dir },
          "the refused cached bundle's revision stays the floor: older revisions are refused as rollbacks",
        );
      }
      return false;
    }
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { config } = this.#deps;
    const now = this.#deps.now ?? Date.now;
    const sleep = this.#deps.sleep ?? abortableSleep;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      const started = now();
      let delay = 0;
      const waitSeconds = this.#etag === undefined ? 0 : config.pollWaitSeconds;
      try {
        const result = await fetchBundle(config.url, this.#etag, {
          waitSeconds,
          timeoutMs: config.requestTimeoutMs,
          token: this.#deps.token,
          maxBytes: config.maxBytes,
          signal: this.#stop.signal,
          ...(this.#deps.fetch !== undefined ? { fetch: this.#deps.fetch } : {}),
        });
        this.#deps.onFetch?.(result.kind);
        if (result.kind === 'unchanged') {
          failures = 0;
          // Asked to hold the request but answered at once: a plain HTTP server. Poll at the interval
          // instead of spinning.
          if (waitSeconds > 0 && now() - started < 1_000) delay = config.pollIntervalSeconds * 1000;
        } else if (await this.#apply(result.bytes, result.etag)) {
          failures = 0;
          delay = 0;
        } else {
          // A server that answers every request with bytes that are not a bundle (an HTML page behind a
          // 200, without an ETag to wait on) must see the same growing backoff as one that is down.
          failures++;
          delay = backoffDelay(failures, config.minBackoffMs, config.maxBackoffMs);
        }
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        failures++;
        this.#fail(err, 'bundle fetch');
        delay = backoffDelay(failures, config.minBackoffMs, config.maxBackoffMs);
      }
      if (delay > 0 && !this.#stop.signal.aborted) await sleep(delay, this.#stop.signal);
    }
  }

  async #apply(bytes: Uint8Array, etag: string | undefined): Promise<boolean> {
    try {
      const info = await this.#deps.activate(bytes, this.#revision ?? this.#floor);
      this.#etag = etag;
      this.#revision = info.revision;
      this.#deps.onActivated?.(info, 'server');
      await this.#persist(bytes, etag, info);
      return true;
    } catch (err) {
      // Remember the rejected bundle's ETag: the next poll then waits for a newer revision rather than
      // downloading and rejecting the same bytes again.
      if (err instanceof BundleRejectedError || err instanceof PolicyModelError) this.#etag = etag;
      this.#fail(err, 'bundle update');
      return false;
    }
  }

  async #persist(bytes: Uint8Array, etag: string | undefined, info: BundleInfo): Promise<void> {
    const dir = this.#deps.config.cacheDir;
    if (dir === undefined) return;
    try {
      await makeDir(dir, 0o700);
      await replaceDurably(path.join(dir, CACHE_FILE), bytes);
      await replaceDurably(
        path.join(dir, CACHE_META),
        JSON.stringify({ etag, revision: info.revision, digest: info.digest, savedAt: new Date().toISOString() }),
      );
    } catch (err) {
      this.#deps.logger.warn(
        { err: (err as Error).message, cacheDir: dir },
        'could not persist the bundle cache; serving continues',
      );
    }
  }

  #fail(err: unknown, what: string): void {
    const failure: BundleFailure =
      err instanceof FetchError
        ? { stage: 'fetch', reason: err.reason }
        : err instanceof BundleRejectedError
          ? { stage: 'verify', reason: err.reason }
          : err instanceof PolicyModelError
            ? { stage: 'activate', reason: 'policy_invalid' }
            : { stage: 'activate', reason: 'internal' };
    this.#deps.onFailure?.(failure);
    // Says what happens now: the active bundle keeps serving, or there is none yet (the sidecar is not ready).
    const consequence =
      this.#revision !== undefined ? 'the active policy set keeps serving' : 'no policy set is active yet';
    this.#deps.logger.error(
      { ...failure, detail: err instanceof Error ? err.message : String(err), activeRevision: this.#revision ?? null },
      `${what} failed; ${consequence}`,
    );
  }
}
