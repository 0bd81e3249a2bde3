import pg from 'pg';

import type { Logger } from '../../../telemetry/create-logger.js';
import { backoffDelay } from '../../../util/backoff-delay.js';

/** The channel every replica LISTENs on; payloads are `bundle:<name>` and `revocations`. */
export const NOTIFY_CHANNEL = 'authzd_cp';

export interface PostgresListenerOptions {
  readonly config: pg.ClientConfig;
  /** A notification's payload. */
  readonly onNotify: (payload: string) => void;
  /** Called with true once connected (again), false when the connection is lost. */
  readonly onHealth: (healthy: boolean) => void;
  /** How often the connection is checked with a query, and how long that query may take. */
  readonly checkMs: number;
  readonly logger?: Logger;
}

/**
 * One dedicated connection LISTENing on NOTIFY_CHANNEL: the push half of the change signal, and the canary
 * of the store's health. A lost connection (an error, the server closing it, or a check query not answered
 * in time: a silent network does not close a socket) is reported unhealthy and re-opened with backoff; on
 * every (re)connection the owner re-reads everything, since notifications sent meanwhile are lost.
 */
export class PostgresListener {
  readonly #options: PostgresListenerOptions;
  #client: pg.Client | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #checker: NodeJS.Timeout | undefined;
  #closed = false;
  #healthy = false;

  constructor(options: PostgresListenerOptions) {
    this.#options = options;
  }

  /** Connects the first time; rejects if that fails (start-up reports it). */
  async start(): Promise<void> {
    await this.#connect();
    this.#checker = setInterval(() => this.#check(), this.#options.checkMs).unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#checker);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#options.config);
    client.on('error', (err) => this.#lost(client, err.message));
    client.on('end', () => this.#lost(client, 'connection closed'));
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL) this.#options.onNotify(msg.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#failures = 0;
    this.#setHealthy(true);
  }

  #check(): void {
    const client = this.#client;
    if (client === undefined) return;
    const timeout = setTimeout(() => this.#lost(client, 'no answer to the check query'), this.#options.checkMs);
    client.query('SELECT 1').then(
      () => clearTimeout(timeout),
      (err: unknown) => {
        clearTimeout(timeout);
        this.#lost(client, (err as Error).message);
      },
    );
  }

  #lost(client: pg.Client, why: string): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.#options.logger?.error({ err: why }, 'store connection lost; not ready until it is back');
    this.#setHealthy(false);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed) return;
    const delay = backoffDelay(++this.#failures, 200, 10_000);
    this.#timer = setTimeout(() => {
      this.#connect().then(
        () => this.#options.logger?.info('store connection back; ready again'),
        (err: unknown) => {
          this.#options.logger?.warn({ err: (err as Error).message }, 'store still unreachable');
          this.#retry();
        },
      );
    }, delay).unref();
  }

  #setHealthy(healthy: boolean): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    this.#options.onHealth(healthy);
  }
}
