import { createHash } from 'node:crypto';

import {
  type BundlePointer,
  type BundleRepository,
  BundleRepositoryError,
  type CommitResult,
} from '../bundle-repository.js';
import type { PostgresDb } from './postgres-db.js';
import { NOTIFY_CHANNEL } from './postgres-listener.js';

/**
 * One bundle name's revisions in `authzd_bundle_revisions` (bytes with their SHA-256) and its pointer in
 * `authzd_bundle_pointer`. A publication inserts the revision and moves the pointer in one transaction, and
 * the database decides races between replicas: the primary key refuses a revision number taken by another,
 * and the pointer only moves up (`... DO UPDATE ... WHERE revision < EXCLUDED.revision`, evaluated on the
 * committed row after waiting for a concurrent writer's lock). NOTIFY on commit wakes every replica.
 */
export class PostgresBundleRepository implements BundleRepository {
  readonly #db: PostgresDb;
  readonly #name: string;

  constructor(db: PostgresDb, name: string) {
    this.#db = db;
    this.#name = name;
  }

  async revisions(): Promise<number[]> {
    const { rows } = await this.#db.query<{ revision: string }>(
      'SELECT revision FROM authzd_bundle_revisions WHERE name = $1 ORDER BY revision DESC',
      [this.#name],
    );
    return rows.map((r) => Number(r.revision));
  }

  /** The stored bytes, after checking them against the SHA-256 recorded with them. */
  async read(revision: number): Promise<Uint8Array> {
    const { rows } = await this.#db.query<{ sha256: string; bytes: Buffer }>(
      'SELECT sha256, bytes FROM authzd_bundle_revisions WHERE name = $1 AND revision = $2',
      [this.#name, revision],
    );
    const row = rows[0];
    if (row === undefined) throw new BundleRepositoryError(`bundle ${this.#name} revision ${revision} is not stored`);
    const actual = createHash('sha256').update(row.bytes).digest('hex');
    if (actual !== row.sha256)
      throw new BundleRepositoryError(
        `bundle ${this.#name} revision ${revision}: the stored bytes do not match their recorded SHA-256`,
      );
    return row.bytes;
  }

  async readPointer(): Promise<BundlePointer | undefined> {
    const { rows } = await this.#db.query<{ revision: string; digest: string }>(
      'SELECT revision, digest FROM authzd_bundle_pointer WHERE name = $1',
      [this.#name],
    );
    const row = rows[0];
    return row === undefined ? undefined : { revision: Number(row.revision), digest: row.digest };
  }

  async commit(revision: number, bytes: Uint8Array, digest: string): Promise<CommitResult> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return this.#db
      .transaction(async (query) => {
        const stored = await query(
          `INSERT INTO authzd_bundle_revisions (name, revision, sha256, bytes) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING`,
          [this.#name, revision, sha256, Buffer.from(bytes)],
        );
        if (stored.rowCount === 0) throw new RollbackResult('taken');
        const moved = await query(
          `INSERT INTO authzd_bundle_pointer (name, revision, digest) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision, digest = EXCLUDED.digest, updated_at = now()
           WHERE authzd_bundle_pointer.revision < EXCLUDED.revision`,
          [this.#name, revision, digest],
        );
        if (moved.rowCount === 0) throw new RollbackResult('overtaken');
        await query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `bundle:${this.#name}`]);
        return 'committed' as const;
      })
      .catch((err: unknown) => {
        if (err instanceof RollbackResult) return err.result;
        throw err;
      });
  }

  async prune(keep: number, protect: number): Promise<number[]> {
    // The pointer's revision is never deleted either (its foreign key would refuse it anyway).
    const { rows } = await this.#db.query<{ revision: string }>(
      `DELETE FROM authzd_bundle_revisions r
       WHERE r.name = $1 AND r.revision <> $3
         AND r.revision NOT IN (SELECT revision FROM authzd_bundle_pointer WHERE name = $1)
         AND r.revision NOT IN (
           SELECT revision FROM authzd_bundle_revisions WHERE name = $1 ORDER BY revision DESC LIMIT $2)
       RETURNING r.revision`,
      [this.#name, keep, protect],
    );
    return rows.map((r) => Number(r.revision)).sort((a, b) => b - a);
  }
}

/** Thrown inside the transaction to roll it back on purpose, carrying the answer. */
class RollbackResult extends Error {
  constructor(readonly result: Exclude<CommitResult, 'committed'>) {
    super(result);
  }
}
