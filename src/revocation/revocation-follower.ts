import type { Config } from '../config/config-schema.js';
import type { Logger } from '../telemetry/create-logger.js';
import { abortableSleep } from '../util/abortable-sleep.js';
import { backoffDelay } from '../util/backoff-delay.js';
import { FetchError, get, readLimited } from '../util/http-get.js';
import type { RevocationCache, RevocationCacheLoad } from './revocation-cache.js';
import { parseRevocationFeed } from './revocation-entry.js';
import type { RevocationList } from './revocation-list.js';

/** Why a reset page came: `feed_changed`, another feed (the control plane's storage was lost or replaced); `resync`, the same feed asked to start over. */
export type RevocationResetCause = 'feed_changed' | 'resync';

export interface RevocationFollowerDeps {
  readonly config: Config['revocation'] & { readonly url: string };
  readonly list: RevocationList;
  readonly logger: Logger;
  readonly token: string | undefined;
  /** Where the list is persisted (revocation.cacheDir, else bundle.cacheDir); none when undefined. */
  readonly cache?: RevocationCache | undefined;
  /** Called when an applied page changed what checks see: cached decisions must go. */
  readonly onChange: () => void;
  readonly onPoll?: (result: 'ok' | FetchError['reason']) => void;
  readonly onReset?: (cause: RevocationResetCause) => void;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

const MAX_PAGE_BYTES = 64 * 1024 * 1024;
/** While the feed answers without news, the persisted list's sync time is brought up to date this often. */
const RESAVE_MS = 60_000;

/**
 * Follows the control plane's revocation feed: `GET url?since=SEQ&feed=ID&wait=S`, long-polled, every page
 * validated before it is applied. A revocation reaches checks as soon as its page arrives. While the
 * feed is unreachable the sidecar keeps the entries it has (they still expire on time) and retries with
 * jittered backoff; the feed lag metric shows how stale the list may be. The list is persisted after every
 * change (see RevocationCache) and taken up again at start (loadCache).
 *
 * Readiness (problem()): the list can be trusted once the feed has answered in this process, or when a
 * persisted list was last in sync within revocation.cacheMaxAgeSeconds. A sidecar that has lost the feed
 * after a sync stays ready (the lag alert reports it): taking every pod out of service because the
 * control plane is away would turn its outage into the application's.
 */
export class RevocationFollower {
  readonly #deps: RevocationFollowerDeps;
  readonly #stop = new AbortController();
  readonly #startedAt: number;
  #running: Promise<void> | undefined;
  /** When the feed last answered in this process. */
  #lastSuccess: number | undefined;
  /** When the persisted list taken up at start was last in sync (undefined: none was). */
  #restoredSyncedAt: number | undefined;
  #cacheState: RevocationCacheLoad | undefined;
  #savedAt: number | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(deps: RevocationFollowerDeps) {
    this.#deps = deps;
    this.#startedAt = this.#now();
  }

  /**
   * Milliseconds since the list was last known to be in sync with the feed: since its last answer; before
   * the first one, since the persisted list's sync, or since start-up. Never 0 for a feed never reached.
   */
  lagMs(): number {
    return this.#now() - (this.#lastSuccess ?? this.#restoredSyncedAt ?? this.#startedAt);
  }

  /** Whether the feed has answered in this process. */
  get synced(): boolean {
    return this.#lastSuccess !== undefined;
  }

  /** Why the list cannot be trusted to decide with yet, or undefined when it can (see the class comment). */
  problem(): string | undefined {
    if (this.#lastSuccess !== undefined) return undefined;
    const maxAgeMs = this.#deps.config.cacheMaxAgeSeconds * 1000;
    if (this.#restoredSyncedAt !== undefined && this.#now() - this.#restoredSyncedAt <= maxAgeMs) return undefined;
    const cache = this.#deps.cache;
    const state = this.#cacheState;
    const why =
      cache === undefined
        ? 'no revocation list is persisted (set revocation.cacheDir or bundle.cacheDir)'
        : state === undefined || state.kind === 'missing'
          ? `no persisted revocation list at ${cache.file}`
          : state.kind === 'refused'
            ? `the persisted revocation list at ${cache.file} was refused: ${state.detail}`
            : `the persisted revocation list at ${cache.file} was last in sync at ${new Date(state.list.syncedAt).toISOString()}, longer ago than revocation.cacheMaxAgeSeconds (${this.#deps.config.cacheMaxAgeSeconds})`;
    return `the revocation feed has not answered yet and ${why}`;
  }

  /**
   * Takes up the persisted list, if there is one that checks out: its entries are held whatever its age
   * (a revocation only ever adds protection), and it counts toward readiness while it is young enough.
   */
  async loadCache(): Promise<RevocationCacheLoad | undefined> {
    const { cache, list, logger } = this.#deps;
    if (cache === undefined) return undefined;
    const state = await cache.load();
    this.#cacheState = state;
    if (state.kind === 'missing') {
      logger.info({ file: cache.file }, 'no persisted revocation list; not ready until the revocation feed answers');
    } else if (state.kind === 'refused') {
      logger.error(
        { file: cache.file, detail: state.detail },
        'persisted revocation list refused; not ready until the revocation feed answers',
      );
    } else {
      list.restore(state.list, Math.floor(this.#now() / 1000));
      this.#restoredSyncedAt = state.list.syncedAt;
      const ageSeconds = Math.round((this.#now() - state.list.syncedAt) / 1000);
      const fresh = ageSeconds <= this.#deps.config.cacheMaxAgeSeconds;
      logger[fresh ? 'info' : 'warn'](
        {
          file: cache.file,
          live: list.size,
          seq: list.seq,
          feed: list.feed,
          syncedAt: new Date(state.list.syncedAt).toISOString(),
          ageSeconds,
          maxAgeSeconds: this.#deps.config.cacheMaxAgeSeconds,
        },
        fresh
          ? 'persisted revocation list taken up; its revocations are in force'
          : 'persisted revocation list taken up, but it is older than revocation.cacheMaxAgeSeconds: its revocations are in force, and the sidecar is not ready until the feed answers',
      );
    }
    return state;
  }

  start(): void {
    const now = this.#deps.now ?? Date.now;
    this.#sweeper = setInterval(() => this.#deps.list.sweep(Math.floor(now() / 1000)), 30_000);
    this.#sweeper.unref();
    this.#running ??= this.#loop();
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#stop.abort();
    await this.#running;
  }

  async #save(syncedAt: number): Promise<void> {
    const cache = this.#deps.cache;
    if (cache === undefined) return;
    try {
      await cache.save(this.#deps.list, syncedAt);
      this.#savedAt = syncedAt;
    } catch (err) {
      // Retried at the next answer of the feed (#savedAt did not move).
      this.#deps.logger.error(
        { file: cache.file, err: (err as Error).message },
        'could not persist the revocation list; it is held in memory, and a restart would not find it',
      );
    }
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  async #loop(): Promise<void> {
    const { config, list, logger } = this.#deps;
    const now = this.#deps.now ?? Date.now;
    let failures = 0;
    let first = true;
    while (!this.#stop.signal.aborted) {
      const started = now();
      let delay = 0;
      try {
        const target = new URL(config.url);
        const since = list.seq;
        target.searchParams.set('since', String(since));
        if (list.feed !== undefined) target.searchParams.set('feed', list.feed);
        const wait = first ? 0 : config.pollWaitSeconds;
        if (wait > 0) target.searchParams.set('wait', String(wait));
        const headers: Record<string, string> = { accept: 'application/json' };
        if (this.#deps.token !== undefined) headers.authorization = `Bearer ${this.#deps.token}`;
        const options = {
          waitSeconds: wait,
          timeoutMs: config.requestTimeoutMs,
          token: this.#deps.token,
          maxBytes: MAX_PAGE_BYTES,
          signal: this.#stop.signal,
          ...(this.#deps.fetch ? { fetch: this.#deps.fetch } : {}),
        };
        const response = await get(target, headers, options);
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new FetchError('http_status', `revocation feed: HTTP ${response.status}`);
        }
        let body: unknown;
        try {
          body = JSON.parse(new TextDecoder().decode(await readLimited(response, MAX_PAGE_BYTES)));
        } catch (err) {
          if (err instanceof FetchError) throw err;
          throw new FetchError('malformed', 'revocation feed: body is not JSON');
        }
        const page = parseRevocationFeed(body);
        if (!page.ok) throw new FetchError('malformed', `revocation feed: ${page.detail}`);
        const previousFeed = list.feed;
        const result = list.apply(page.value, Math.floor(now() / 1000));
        const changed = result.changed;
        this.#lastSuccess = now();
        this.#deps.onPoll?.('ok');
        first = false;
        failures = 0;
        if (result.reset !== undefined && (result.reset.feedChanged || since > 0)) {
          // The first page of a list that holds nothing is a reset by definition; any other is news.
          const cause: RevocationResetCause = result.reset.feedChanged ? 'feed_changed' : 'resync';
          this.#deps.onReset?.(cause);
          logger.warn(
            { cause, previousFeed, feed: list.feed, since, seq: list.seq, kept: result.reset.kept, live: list.size },
            cause === 'feed_changed'
              ? 'revocation feed reset: the control plane serves another feed (its storage was lost or replaced); revocations held that it no longer lists are kept until they expire'
              : 'revocation feed reset: the feed sent its complete list again; revocations held that it no longer lists are kept until they expire',
          );
        }
        if (changed) {
          this.#deps.onChange();
          logger.info({ seq: list.seq, live: list.size, reset: page.value.reset }, 'revocations applied');
        }
        if (changed || this.#savedAt === undefined || now() - this.#savedAt >= RESAVE_MS || list.feed !== previousFeed)
          await this.#save(now());
        // Asked to hold the request but answered at once with nothing new: a server that does not long-poll.
        // Poll at the interval rather than spin.
        if (wait > 0 && !changed && now() - started < 1_000) delay = config.pollIntervalSeconds * 1000;
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        failures++;
        const reason = err instanceof FetchError ? err.reason : 'network';
        this.#deps.onPoll?.(reason);
        logger.error(
          {
            reason,
            detail: (err as Error).message,
            seq: list.seq,
            held: list.size,
            lagSeconds: Math.round(this.lagMs() / 1000),
          },
          this.#lastSuccess === undefined && this.#restoredSyncedAt === undefined
            ? 'revocation feed poll failed; the feed was never reached and no persisted list was taken up, so no revocation is known'
            : 'revocation feed poll failed; revocations held stay in force until they expire, revocations made since the last answer are not known',
        );
        delay = backoffDelay(failures, config.minBackoffMs, config.maxBackoffMs);
      }
      if (delay > 0 && !this.#stop.signal.aborted) await abortableSleep(delay, this.#stop.signal);
    }
  }
}
