import type {
  RevocationEntry,
  RevocationFeedPage,
  RevocationKind,
  RevocationRequest,
} from '../../../revocation/revocation-entry.js';
import type { Logger } from '../../../telemetry/create-logger.js';
import { RevocationIndex } from '../revocation-index.js';
import type { RevocationLog } from '../revocation-log.js';
import type { PostgresDb } from './postgres-db.js';
import { NOTIFY_CHANNEL } from './postgres-listener.js';

export interface PostgresRevocationLogOptions {
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** How long an expired entry stays before compaction deletes it (hidden from the feed at once). */
  readonly graceSeconds: number;
  readonly logger?: Logger;
}

interface Row {
  readonly seq: string;
  readonly kind: RevocationKind;
  readonly value: string;
  readonly issuer: string | null;
  readonly issued_before: string | null;
  readonly expires_at: string;
  readonly created_at: string;
}

/**
 * The revocation feed in `authzd_revocations`, its sequence numbers assigned by the database.
 *
 * A cursor must never skip an entry that commits late. With a PostgreSQL SEQUENCE it could: numbers are
 * handed out when a transaction asks and become visible when it commits, so 6 can be visible while 5 is
 * still in flight, a follower moves its cursor to 6, and 5 is never sent. Here the number comes from the
 * single row of `authzd_revocation_feed` (`UPDATE ... SET seq = seq + 1`) in the same statement as the
 * insert: the row lock that UPDATE takes is held until commit, so a second writer waits for the first to
 * commit (or roll back, returning its number) before it gets the next number. Numbers therefore commit in
 * order and without gaps, and any snapshot that shows n shows everything below n. Writers queue for a
 * moment on that row; revocations are administrator actions, far below the rate where that matters
 * (bench/fanout.mjs measures). The statement is one autocommit round trip, so no client can hold the lock.
 *
 * A scan reads the feed row and the entries above this replica's `max` in one statement, one snapshot:
 * the feed's `seq` and the rows agree, and `max` becomes that `seq`.
 */
export class PostgresRevocationLog implements RevocationLog {
  readonly #db: PostgresDb;
  readonly #options: PostgresRevocationLogOptions;
  readonly #listeners = new Set<() => void>();
  #index!: RevocationIndex;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(db: PostgresDb, options: PostgresRevocationLogOptions) {
    this.#db = db;
    this.#options = options;
  }

  static async open(db: PostgresDb, options: PostgresRevocationLogOptions): Promise<PostgresRevocationLog> {
    const log = new PostgresRevocationLog(db, options);
    const { rows } = await db.query<{ feed: string }>('SELECT feed FROM authzd_revocation_feed');
    log.#index = new RevocationIndex(rows[0]!.feed, options.now);
    await log.scan();
    return log;
  }

  get feed(): string {
    return this.#index.feed;
  }

  get seq(): number {
    return this.#index.max;
  }

  get liveCount(): number {
    return this.#index.liveCount();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async add(request: RevocationRequest): Promise<RevocationEntry> {
    const createdAt = Math.floor(this.#options.now() / 1000);
    const { rows } = await this.#db.query<Row>(
      `WITH next AS (UPDATE authzd_revocation_feed SET seq = seq + 1 RETURNING seq),
            added AS (
              INSERT INTO authzd_revocations (seq, kind, value, issuer, issued_before, expires_at, created_at)
              SELECT next.seq, $1, $2, $3, $4, $5, $6 FROM next RETURNING *)
       SELECT added.*, pg_notify($7, 'revocations') FROM added`,
      [
        request.kind,
        request.value,
        request.issuer ?? null,
        request.issuedBefore ?? null,
        request.expiresAt,
        createdAt,
        NOTIFY_CHANNEL,
      ],
    );
    const entry = toEntry(rows[0]!);
    // Entries of other replicas below this one may be new to this replica: read up to it before answering,
    // so this replica's feed moves to the new number with everything below it.
    await this.scan();
    return entry;
  }

  page(since: number, feed?: string): RevocationFeedPage {
    return this.#index.page(since, feed);
  }

  isCurrent(since: number, feed?: string): boolean {
    return this.#index.isCurrent(since, feed);
  }

  scan(): Promise<void> {
    return this.#exclusive(async () => {
      const index = this.#index;
      const { rows } = await this.#db.query<
        { feed_seq: string; feed_horizon: string } & { [K in keyof Row]: Row[K] | null }
      >(
        `SELECT f.seq AS feed_seq, f.horizon AS feed_horizon, r.*
         FROM authzd_revocation_feed f LEFT JOIN authzd_revocations r ON r.seq > $1
         ORDER BY r.seq`,
        [index.max],
      );
      let changed = false;
      for (const row of rows) {
        if (row.seq === null) continue;
        index.set(toEntry(row as Row));
        changed = true;
      }
      const max = Number(rows[0]!.feed_seq);
      const horizon = Number(rows[0]!.feed_horizon);
      if (horizon > index.horizon) {
        // Another replica compacted: forget what it deleted.
        const kept = await this.#db.query<{ seq: string }>('SELECT seq FROM authzd_revocations WHERE seq <= $1', [
          horizon,
        ]);
        const present = new Set(kept.rows.map((r) => Number(r.seq)));
        for (const seq of index.seqs()) if (seq <= horizon && !present.has(seq)) index.delete(seq);
        index.horizon = horizon;
        changed = true;
      }
      if (max > index.max) {
        index.max = max;
        changed = true;
      }
      if (changed) this.#emit();
    });
  }

  compact(): Promise<number> {
    return this.#exclusive(async () => {
      const now = Math.floor(this.#options.now() / 1000);
      const removed = await this.#db.transaction(async (query) => {
        const gone = await query<{ seq: string }>(
          // The newest entry stays, as in the directory store, so both stores compact alike.
          `DELETE FROM authzd_revocations
           WHERE expires_at + $1 < $2 AND seq < (SELECT seq FROM authzd_revocation_feed) RETURNING seq`,
          [this.#options.graceSeconds, now],
        );
        if (gone.rows.length === 0) return [];
        const seqs = gone.rows.map((r) => Number(r.seq));
        await query('UPDATE authzd_revocation_feed SET horizon = GREATEST(horizon, $1)', [Math.max(...seqs)]);
        return seqs;
      });
      if (removed.length === 0) return 0;
      for (const seq of removed) this.#index.delete(seq);
      this.#index.horizon = Math.max(...removed);
      this.#options.logger?.info({ removed: removed.length, seq: this.#index.max }, 'revocations compacted');
      this.#emit();
      return removed.length;
    });
  }

  #emit(): void {
    for (const listener of this.#listeners) listener();
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function toEntry(row: Row): RevocationEntry {
  return {
    seq: Number(row.seq),
    kind: row.kind,
    value: row.value,
    ...(row.issuer !== null ? { issuer: row.issuer } : {}),
    ...(row.issued_before !== null ? { issuedBefore: Number(row.issued_before) } : {}),
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
  };
}
