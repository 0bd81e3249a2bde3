import type { Logger } from '../../../telemetry/create-logger.js';
import { type DecisionLog, utcDay } from '../decision-log.js';
import type { PostgresDb } from './postgres-db.js';
import { LOCKS } from './postgres-migrations.js';

export interface PostgresDecisionLogOptions {
  /** Days kept, today's included; older partitions are dropped. */
  readonly retentionDays: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly logger?: Logger;
}

const DAY_MS = 86_400_000;
const PARTITION = /^authzd_decisions_(\d{4})(\d{2})(\d{2})$/;

/** The partition holding a UTC day (`YYYY-MM-DD`): `authzd_decisions_YYYYMMDD`. */
export const partitionOf = (day: string): string => `authzd_decisions_${day.replaceAll('-', '')}`;

/**
 * Decision events in `authzd_decisions`, partitioned by UTC day of arrival. A batch is one INSERT (all of
 * its lines or none), in the order sent; any number of replicas append concurrently. Retention drops whole
 * partitions, which costs no DELETE and leaves nothing to vacuum. `authzd replay --store-dsn-file` reads the
 * table back (read-postgres-decisions.ts).
 */
export class PostgresDecisionLog implements DecisionLog {
  readonly #db: PostgresDb;
  readonly #options: PostgresDecisionLogOptions;
  /** Days whose partition this replica has made sure of. */
  readonly #ready = new Set<string>();

  constructor(db: PostgresDb, options: PostgresDecisionLogOptions) {
    this.#db = db;
    this.#options = options;
  }

  async append(text: string): Promise<string> {
    const day = utcDay(this.#options.now());
    await this.#ensurePartition(day);
    const lines = text.split('\n').filter((line) => line !== '');
    const insert = () =>
      this.#db.query(
        `INSERT INTO authzd_decisions (day, event)
         SELECT $1::date, e FROM unnest($2::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n`,
        [day, lines],
      );
    try {
      await insert();
    } catch (err) {
      // 23514 "no partition of relation found for row": the partition this replica made went away (a restored
      // or replaced database). Make it again, once.
      if ((err as { code?: string }).code !== '23514') throw err;
      this.#ready.delete(day);
      await this.#ensurePartition(day);
      await insert();
    }
    return partitionOf(day);
  }

  async removeExpired(): Promise<number> {
    const oldestKept = utcDay(this.#options.now() - (this.#options.retentionDays - 1) * DAY_MS);
    const expired = (await this.partitions()).filter((p) => p.day < oldestKept);
    if (expired.length === 0) return 0;
    // Under the partition lock, so that two replicas do not drop (or create) at once; IF EXISTS for the
    // replica that comes second.
    await this.#db.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1)', [LOCKS.partitions]);
      for (const p of expired) await query(`DROP TABLE IF EXISTS ${p.name}`);
    });
    for (const p of expired) this.#ready.delete(p.day);
    this.#options.logger?.info({ removed: expired.length, oldestKept }, 'expired decision partitions dropped');
    return expired.length;
  }

  /** The day partitions that exist, oldest first. */
  async partitions(): Promise<{ name: string; day: string }[]> {
    const { rows } = await this.#db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'authzd_decisions'::regclass`,
    );
    const out: { name: string; day: string }[] = [];
    for (const { name } of rows) {
      const m = PARTITION.exec(name);
      if (m !== null) out.push({ name, day: `${m[1]}-${m[2]}-${m[3]}` });
    }
    return out.sort((a, b) => a.day.localeCompare(b.day));
  }

  async #ensurePartition(day: string): Promise<void> {
    if (this.#ready.has(day)) return;
    const next = utcDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
    // CREATE TABLE IF NOT EXISTS is not safe against a concurrent CREATE of the same name; the lock makes it so.
    await this.#db.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1)', [LOCKS.partitions]);
      await query(
        `CREATE TABLE IF NOT EXISTS ${partitionOf(day)} PARTITION OF authzd_decisions
         FOR VALUES FROM ('${day}') TO ('${next}')`,
      );
    });
    this.#ready.add(day);
  }
}
