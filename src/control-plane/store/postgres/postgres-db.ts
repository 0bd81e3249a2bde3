import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';

/** The query pool of the PostgreSQL store, counting every statement it sends (the store-load metric). */
export class PostgresDb {
  readonly pool: Pool;
  readonly #onQuery: () => void;

  constructor(pool: Pool, onQuery: () => void = () => {}) {
    this.pool = pool;
    this.#onQuery = onQuery;
  }

  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    this.#onQuery();
    return this.pool.query<R>(text, values);
  }

  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (query: PostgresDb['query']) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    const query = <R extends QueryResultRow>(text: string, values?: unknown[]) => {
      this.#onQuery();
      return client.query<R>(text, values);
    };
    try {
      await query('BEGIN');
      const result = await work(query);
      await query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
