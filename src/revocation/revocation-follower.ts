import { abortableSleep } from '../util/abortable-sleep.js';
import { backoffDelay } from '../util/backoff-delay.js';
import { FetchError, get, readLimited } from '../util/http-get.js';
import type { Config } from '../config/config-schema.js';
import type { Logger } from '../telemetry/create-logger.js';
import { parseRevocationFeed } from './revocation-entry.js';
import type { RevocationList } from './revocation-list.js';

export interface RevocationFollowerDeps {
  readonly config: Config['revocation'] & { readonly url: string };
  readonly list: RevocationList;
  readonly logger: Logger;
  readonly token: string | undefined;
  /** Called when an applied page changed what checks see: cached decisions must go. */
  readonly onChange: () => void;
  readonly onPoll?: (result: 'ok' | FetchError['reason']) => void;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

const MAX_PAGE_BYTES = 64 * 1024 * 1024;

/**
 * Follows the control plane's revocation feed: `GET url?since=SEQ&wait=S`, long-polled, every page
 * validated before it is applied. A revocation reaches checks as soon as its page arrives. While the
 * feed is unreachable the sidecar keeps the entries it has (they still expire on time) and retries with
 * jittered backoff; the feed lag metric shows how stale the list may be.
 */
export class RevocationFollower {
  readonly #deps: RevocationFollowerDeps;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #lastSuccess: number | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(deps: RevocationFollowerDeps) {
    this.#deps = deps;
  }

  /** Milliseconds since the feed last answered, or undefined if it never has. */
  lagMs(): number | undefined {
    return this.#lastSuccess === undefined ? undefined : (this.#deps.now ?? Date.now)() - this.#lastSuccess;
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
        target.searchParams.set('since', String(list.seq));
        const wait = first ? 0 : config.pollWaitSeconds;
        if (wait > 0) target.searchParams.set('wait', String(wait));
        const headers: Record<string, string> = { accept: 'application/json' };
        if (this.#deps.token !== undefined) headers.authorization = `Bearer ${this.#deps.token}`;
        const options = { waitSeconds: wait, timeoutMs: config.requestTimeoutMs, token: this.#deps.token, maxBytes: MAX_PAGE_BYTES, signal: this.#stop.signal, ...(this.#deps.fetch ? { fetch: this.#deps.fetch } : {}) };
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
        const changed = list.apply(page.value, Math.floor(now() / 1000));
        this.#lastSuccess = now();
        this.#deps.onPoll?.('ok');
        first = false;
        failures = 0;
        if (changed) {
          this.#deps.onChange();
          logger.info({ seq: list.seq, live: list.size, reset: page.value.reset }, 'revocations applied');
        }
        // Asked to hold the request but answered at once with nothing new: a server that does not long-poll.
        // Poll at the interval rather than spin.
        if (wait > 0 && !changed && now() - started < 1_000) delay = config.pollIntervalSeconds * 1000;
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        failures++;
        const reason = err instanceof FetchError ? err.reason : 'network';
        this.#deps.onPoll?.(reason);
        logger.error({ reason, detail: (err as Error).message, seq: list.seq }, 'revocation feed poll failed; known revocations stay in force');
        delay = backoffDelay(failures, config.minBackoffMs, config.maxBackoffMs);
      }
      if (delay > 0 && !this.#stop.signal.aborted) await abortableSleep(delay, this.#stop.signal);
    }
  }
}
