import { describe, expect, it } from 'vitest';

import { usePostgresCluster } from '../../../../helpers/postgres-cluster.js';

const cluster = usePostgresCluster();

describe('postgres cluster helper', () => {
  it('starts, stops and starts again', async () => {
    const db = await cluster().createDatabase();
    expect(await cluster().query(db, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await cluster().stop();
    await expect(cluster().query(db, 'SELECT 1')).rejects.toThrow();
    await cluster().start();
    expect(await cluster().query(db, 'SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });
});
