import type { Config } from '../config/config-schema.js';
import { readSecret } from '../config/read-secret.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { abortableSleep } from '../util/abortable-sleep.js';
import { backoffDelay } from '../util/backoff-delay.js';
import { readLimited } from '../util/http-get.js';
import type { AuditLog } from './audit-log.js';

export type ShipConfig = NonNullable<Config['audit']['ship']>;

/** Why an attempt to ship a batch failed: the `reason` label of authzd_decisions_ship_failures_total. */
export type ShipFailure = 'network' | 'timeout' | 'unauthorized' | 'http_status' | 'rejected';
/** Why events were given up: the `reason` label of authzd_decisions_ship_dropped_total. */
export type ShipDrop = 'buffer_full' | 'rejected' | 'shutdown';

export interface DecisionShipperDeps {
  readonly config: ShipConfig;
  /** Bearer token for the control plane; never logged. */
  readonly token: string;
  readonly logger: Logger;
  readonly onShipped?: (events: number) => void;
  readonly onDropped?: (events: number, reason: ShipDrop) => void;
  readonly onFailure?: (reason: ShipFailure) => void;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

/**
 * A batch is also cut at this many characters of event text (about bytes: events are mostly ASCII), well
 * under the control plane's 16 MiB body limit, so that a few large events cannot make a batch it refuses.
 */
export const MAX_BATCH_CHARS = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 4096;

/**
 * Ships audit event lines to the control plane's POST /v1/decisions as NDJSON batches (docs/audit.md).
 *
 * `offer` is all the Check path does: a push onto a bounded in-memory queue, or a counted drop when the queue
 * is full; it never awaits or throws. One loop sends a batch when `batchSize` lines are queued or
 * `flushIntervalMs` has passed, one request at a time, and retries a failed batch with jittered exponential
 * backoff while new lines queue behind it. A batch the control plane refuses as malformed (400, 413, 415,
 * 422) is dropped, since sending it again cannot succeed. Delivery is at most once: a batch whose answer is
 * lost is sent again, and the control plane may store it twice; events lost to a full queue, a refusal or
 * the shutdown deadline are counted, never silently gone.
 */
export class DecisionShipper {
  readonly #deps: DecisionShipperDeps;
  readonly #queue: string[] = [];
  /** Events in the batch being sent: they count against maxBufferEvents too. */
  #inflight = 0;
  #closing = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  /** Aborted at the shutdown deadline: ends a backoff sleep and the request in flight. */
  readonly #deadline = new AbortController();

  constructor(deps: DecisionShipperDeps) {
    this.#deps = deps;
  }

  /** Events held (queued plus in flight). */
  get pending(): number {
    return this.#queue.length + this.#inflight;
  }

  /** Queues one event line. The Check path's only cost: it never waits and never throws. */
  offer(line: string): void {
    if (this.#stopped) {
      this.#deps.onDropped?.(1, 'shutdown');
      return;
    }
    if (this.#queue.length + this.#inflight >= this.#deps.config.maxBufferEvents) {
      this.#deps.onDropped?.(1, 'buffer_full');
      return;
    }
    this.#queue.push(line);
    if (this.#queue.length >= this.#deps.config.batchSize) this.#wake?.();
  }

  start(): void {
    this.#running ??= this.#loop().catch((err: unknown) => {
      // A bug, not a delivery failure (those are handled in the loop): stop shipping, keep serving.
      this.#stopped = true;
      this.#deps.logger.error(
        { err: err instanceof Error ? err.message : String(err), pending: this.pending },
        'decision shipping stopped by an unexpected error',
      );
    });
  }

  /**
   * Sends everything queued, retrying failures, and resolves when it is sent or `shutdownTimeoutMs` has
   * passed; what is still unsent then is counted as dropped (`shutdown`). Later offers are dropped too.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.start();
      this.#wake?.();
    }
    const timer = setTimeout(() => this.#deadline.abort(), this.#deps.config.shutdownTimeoutMs);
    try {
      await this.#running;
    } finally {
      clearTimeout(timer);
      this.#stopped = true;
    }
  }

  async #loop(): Promise<void> {
    const { config } = this.#deps;
    const sleep = this.#deps.sleep ?? abortableSleep;
    let failures = 0;
    for (;;) {
      if (this.#queue.length < config.batchSize && !this.#closing) await this.#idle(config.flushIntervalMs);
      if (this.#deadline.signal.aborted) break;
      if (this.#queue.length === 0) {
        if (this.#closing) return;
        continue;
      }
      const batch = this.#take();
      this.#inflight = batch.length;
      for (;;) {
        const result = await this.#send(batch);
        if (result === 'ok') {
          failures = 0;
          this.#deps.onShipped?.(batch.length);
          break;
        }
        this.#deps.onFailure?.(result);
        if (result === 'rejected') {
          failures = 0;
          this.#deps.onDropped?.(batch.length, 'rejected');
          break;
        }
        failures++;
        if (!this.#deadline.signal.aborted) {
          await sleep(
            backoffDelay(failures, config.minBackoffMs, config.maxBackoffMs, this.#deps.random),
            this.#deadline.signal,
          );
        }
        if (this.#deadline.signal.aborted) {
          this.#deps.onDropped?.(batch.length, 'shutdown');
          break;
        }
      }
      this.#inflight = 0;
      if (this.#deadline.signal.aborted) break;
    }
    // The shutdown deadline passed: what is left will not be sent.
    const left = this.#queue.length;
    this.#queue.length = 0;
    if (left > 0) this.#deps.onDropped?.(left, 'shutdown');
    this.#deps.logger.warn(
      { dropped: left },
      'decision shipping stopped at the shutdown deadline; unsent events dropped',
    );
  }

  /** Resolves after `ms`, or at once when a batch fills up or close() is called. */
  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }

  #take(): string[] {
    const { batchSize } = this.#deps.config;
    let n = 0;
    let chars = 0;
    while (n < this.#queue.length && n < batchSize) {
      chars += this.#queue[n]!.length;
      if (n > 0 && chars > MAX_BATCH_CHARS) break;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #send(batch: readonly string[]): Promise<'ok' | ShipFailure> {
    const { config, logger } = this.#deps;
    let response: Response;
    try {
      response = await (this.#deps.fetch ?? fetch)(config.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#deps.token}`, 'content-type': 'application/x-ndjson' },
        body: batch.join(''),
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(config.requestTimeoutMs), this.#deadline.signal]),
      });
    } catch (err) {
      const name = (err as { name?: string }).name;
      const reason = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
      logger.warn(
        {
          reason,
          events: batch.length,
          err: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message,
        },
        'shipping decisions failed; will retry',
      );
      return reason;
    }
    const body = await readLimited(response, MAX_ERROR_BODY).catch(() => new Uint8Array());
    if (response.ok) return 'ok';
    const status = response.status;
    const detail = errorDetail(body);
    if (status === 400 || status === 413 || status === 415 || status === 422) {
      logger.error(
        { status, detail, events: batch.length },
        'the control plane refused a batch of decisions; it is dropped',
      );
      return 'rejected';
    }
    const reason = status === 401 || status === 403 ? 'unauthorized' : 'http_status';
    logger.warn({ status, detail, events: batch.length }, 'shipping decisions failed; will retry');
    return reason;
  }
}

/**
 * Ships the audit log's events when `audit.ship` is configured: reads the token, subscribes to the log and
 * starts sending. Undefined when shipping is off. close() flushes with the configured deadline.
 */
export function startDecisionShipper(
  config: Config['audit'],
  audit: AuditLog,
  deps: { readonly metrics: Metrics; readonly logger: Logger; readonly fetch?: typeof fetch },
): { close(): Promise<void> } | undefined {
  const ship = config.ship;
  if (ship === undefined) return undefined;
  const { metrics } = deps;
  const shipper = new DecisionShipper({
    config: ship,
    token: readSecret(ship.tokenFile, ship.tokenEnv, 'audit.ship')!,
    logger: deps.logger.child({ component: 'decision-shipper' }),
    onShipped: (n) => metrics.decisionsShipped.inc(n),
    onDropped: (n, reason) => metrics.decisionsShipDropped.inc({ reason }, n),
    onFailure: (reason) => metrics.decisionsShipFailures.inc({ reason }),
    ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
  });
  const unsubscribe = audit.onEvent((line) => shipper.offer(line));
  shipper.start();
  return {
    async close() {
      await shipper.close();
      unsubscribe();
    },
  };
}

/** The control plane's `detail`, for the log; anything else is not echoed. */
function errorDetail(body: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { detail?: unknown };
    return typeof parsed.detail === 'string' ? parsed.detail.slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}
