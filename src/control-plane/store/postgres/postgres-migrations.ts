import type { Pool } from 'pg';

/**
 * The PostgreSQL store's schema, one entry per version, applied in order and never edited once released:
 * a change is a new version. docs/control-plane.md ("PostgreSQL", "Migrations") says how they run.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'bundles, revocations, decisions',
    sql: `
      CREATE TABLE authzd_bundle_revisions (
        name text NOT NULL,
        revision bigint NOT NULL CHECK (revision > 0),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        bytes bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, revision)
      );
      -- The served revision of each bundle name; it can only name a stored revision.
      CREATE TABLE authzd_bundle_pointer (
        name text PRIMARY KEY,
        revision bigint NOT NULL,
        digest text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (name, revision) REFERENCES authzd_bundle_revisions (name, revision)
      );
      -- One row: the feed's id (made with the schema, so a new database is a new feed), the highest sequence
      -- number issued (bumped under this row's lock by every insert, see postgres-revocation-log.ts) and the
      -- highest number compaction removed.
      CREATE TABLE authzd_revocation_feed (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        feed text NOT NULL,
        seq bigint NOT NULL DEFAULT 0,
        horizon bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO authzd_revocation_feed (feed) VALUES (gen_random_uuid()::text);
      CREATE TABLE authzd_revocations (
        seq bigint PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('jti', 'sid', 'sub')),
        value text NOT NULL,
        issuer text,
        issued_before bigint,
        expires_at bigint NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX authzd_revocations_expires_at ON authzd_revocations (expires_at);
      -- Shipped decision events, one row a line exactly as sent, partitioned by UTC day of arrival so that
      -- retention drops whole partitions (no DELETE, no vacuum debt). Partitions are made on first use.
      CREATE SEQUENCE authzd_decisions_id;
      CREATE TABLE authzd_decisions (
        day date NOT NULL,
        id bigint NOT NULL DEFAULT nextval('authzd_decisions_id'),
        received_at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL
      ) PARTITION BY RANGE (day);
      CREATE INDEX authzd_decisions_day_id ON authzd_decisions (day, id);
    `,
  },
];

/** pg_advisory_xact_lock keys: arbitrary constants, the same in every replica. */
export const LOCKS = { migrations: 0x617a_6d31, partitions: 0x617a_6d32 } as const;

export class MigrationError extends Error {
  override readonly name = 'PostgresStoreError';
}

/**
 * Brings the schema to the latest version, in one transaction under an advisory lock: replicas starting
 * together queue on the lock, and the second finds the work done. DDL is transactional in PostgreSQL, so a
 * failed migration leaves the schema as it was. Returns the versions applied (none when up to date).
 * Refuses a database whose schema is newer than this build knows: an older replica must not write to it.
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrations]);
    await client.query(`CREATE TABLE IF NOT EXISTS authzd_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM authzd_schema_migrations');
    const current = rows[0]?.v ?? 0;
    const latest = MIGRATIONS.at(-1)!.version;
    if (current > latest)
      throw new MigrationError(
        `the database's schema is at version ${current}, newer than this authzd knows (${latest}): run the newer authzd`,
      );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO authzd_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
