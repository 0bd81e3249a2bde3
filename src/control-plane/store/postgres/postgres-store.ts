import pg from 'pg';

import { ConfigError } from '../../../config/config-error.js';
import type { ControlPlaneStore, StoreOptions } from '../control-plane-store.js';
import { StoreChanges } from '../store-changes.js';
import { PostgresBundleRepository } from './postgres-bundle-repository.js';
import { PostgresDb } from './postgres-db.js';
import { PostgresDecisionLog } from './postgres-decision-log.js';
import { PostgresListener } from './postgres-listener.js';
import { migrate } from './postgres-migrations.js';
import { PostgresRevocationLog } from './postgres-revocation-log.js';
import { describePostgres, pgClientConfig, type PostgresSettings } from './postgres-settings.js';

/**
 * The store for several replicas: one PostgreSQL database that every replica reads and writes, the schema
 * migrated at start (postgres-migrations.ts), changes pushed to every replica with LISTEN/NOTIFY, health
 * followed on the LISTEN connection. docs/control-plane.md ("Storage") says what it guarantees.
 */
export class PostgresStore implements ControlPlaneStore {
  readonly kind = 'postgres';
  readonly description: string;
  readonly changes = new StoreChanges();
  readonly #healthListeners = new Set<(healthy: boolean) => void>();
  readonly #options: StoreOptions;
  readonly #pool: pg.Pool;
  #listener: PostgresListener | undefined;
  #healthy = false;
  #timers: NodeJS.Timeout[] = [];

  private constructor(
    description: string,
    options: StoreOptions,
    pool: pg.Pool,
    readonly bundles: PostgresBundleRepository,
    readonly revocations: PostgresRevocationLog,
    readonly decisions: PostgresDecisionLog,
  ) {
    this.description = description;
    this.#options = options;
    this.#pool = pool;
  }

  /**
   * Connects, migrates the schema and loads the revocation feed. A database that cannot be reached or
   * migrated is a ConfigError naming it (without its password): start-up fails with it.
   */
  static async open(settings: PostgresSettings, options: StoreOptions): Promise<PostgresStore> {
    const description = describePostgres(settings);
    const config = pgClientConfig(settings, `authzd-control-plane/${options.bundleName}`);
    const pool = new pg.Pool({ ...config, max: settings.poolSize, idleTimeoutMillis: 30_000 });
    // An idle pooled connection that breaks emits here; without a handler the process would crash. The next
    // query takes a fresh connection, and the listener reports the outage.
    pool.on('error', (err) => options.logger?.warn({ err: err.message }, 'idle store connection failed'));
    let store: PostgresStore;
    try {
      await migrate(pool);
      const db = new PostgresDb(pool, options.onQuery);
      store = new PostgresStore(
        description,
        options,
        pool,
        new PostgresBundleRepository(db, options.bundleName),
        await PostgresRevocationLog.open(db, {
          now: options.now,
          graceSeconds: options.revocationGraceSeconds,
          ...(options.logger !== undefined ? { logger: options.logger } : {}),
        }),
        new PostgresDecisionLog(db, {
          retentionDays: options.decisionRetentionDays,
          now: options.now,
          ...(options.logger !== undefined ? { logger: options.logger } : {}),
        }),
      );
      store.#listener = new PostgresListener({
        config,
        checkMs: options.healthCheckMs ?? 5_000,
        onNotify: (payload) => {
          if (payload === 'revocations') store.changes.emit('revocations');
          else if (payload === `bundle:${options.bundleName}`) store.changes.emit('bundle');
        },
        onHealth: (healthy) => store.#setHealthy(healthy),
        ...(options.logger !== undefined ? { logger: options.logger } : {}),
      });
      await store.#listener.start();
    } catch (err) {
      await pool.end().catch(() => {});
      // A bug of ours stays a crash; anything else (refused, timed out, authentication, TLS, a migration the
      // database refused) is the operator's to fix.
      if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) throw err;
      throw new ConfigError([`store ${description}: ${(err as Error).message}`]);
    }
    return store;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /**
   * NOTIFY already drives `changes`; a slow periodic re-read stays as a safety net (it costs a query or two
   * per period and replica), and every reconnection re-reads at once.
   */
  follow(): void {
    this.#timers.push(
      setInterval(() => {
        if (!this.#healthy) return;
        this.changes.emit('bundle');
        this.changes.emit('revocations');
      }, this.#options.pollMs).unref(),
    );
  }

  async close(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    await this.#listener?.close();
    await this.#pool.end().catch(() => {});
  }

  #setHealthy(healthy: boolean): void {
    this.#healthy = healthy;
    if (healthy) {
      // Notifications sent while the connection was down are lost: catch up.
      this.changes.emit('bundle');
      this.changes.emit('revocations');
    }
    for (const listener of this.#healthListeners) listener(healthy);
  }
}
