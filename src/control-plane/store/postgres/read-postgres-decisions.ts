import pg from 'pg';

import type { LogLine } from '../../../audit/replay-decisions.js';
import { partitionOf } from './postgres-decision-log.js';
import { describePostgres, pgClientConfig, type PostgresSettings } from './postgres-settings.js';

export interface DecisionRange {
  /** First UTC day read (`YYYY-MM-DD`), inclusive; the oldest kept when undefined. */
  readonly from?: string;
  /** Last UTC day read, inclusive; the newest when undefined. */
  readonly to?: string;
  /** Rows fetched per query. */
  readonly pageSize?: number;
}

/**
 * The decision events the PostgreSQL store holds, as `authzd replay` reads log files: one line at a time,
 * oldest day first and in arrival order within a day, without holding the table in memory. Pages are read
 * by key (`(day, id) > last`), so a table that grows meanwhile is neither skipped nor read twice, and no
 * cursor or transaction stays open between pages. `file` is the day's partition, `line` the row's id.
 */
export async function* readPostgresDecisions(
  settings: PostgresSettings,
  range: DecisionRange = {},
): AsyncGenerator<LogLine> {
  const client = new pg.Client(pgClientConfig(settings, 'authzd-replay'));
  // A connection lost between pages surfaces as the next query's rejection, not as a crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`store ${describePostgres(settings)}: ${(err as Error).message}`);
  }
  const pageSize = range.pageSize ?? 1_000;
  try {
    let day = '0001-01-01';
    let id = '0';
    for (;;) {
      const { rows } = await client.query<{ day: string; id: string; event: string }>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, id::text AS id, event FROM authzd_decisions
         WHERE (day, id) > ($1::date, $2::bigint)
           AND ($3::date IS NULL OR day >= $3::date) AND ($4::date IS NULL OR day <= $4::date)
         ORDER BY day, id LIMIT $5`,
        [day, id, range.from ?? null, range.to ?? null, pageSize],
      );
      for (const row of rows) yield { file: partitionOf(row.day), line: Number(row.id), text: row.event };
      if (rows.length < pageSize) return;
      ({ day, id } = rows.at(-1)!);
    }
  } finally {
    await client.end().catch(() => {});
  }
}
