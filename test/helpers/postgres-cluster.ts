// A throwaway PostgreSQL cluster for the store tests: initdb in a temp folder, a free loopback port, started
// as an unprivileged user (PostgreSQL refuses to run as root; CI runs as root, developers usually not). One
// cluster per test file, a fresh database per test that needs one. Debian's postgresql package provides the
// binaries (scripts/install-test-tools.sh installs it); without them this fails rather than skips.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

import { freePort } from './free-port.js';
import { sleep } from './until.js';

/** The superuser initdb makes; it connects without a password over loopback (trust). */
export const CLUSTER_USER = 'authzd';

export interface PostgresCluster {
  readonly port: number;
  /** A DSN for `database` on this cluster (plain TCP on 127.0.0.1). */
  dsn(database: string): string;
  /** Creates a fresh, empty database and returns its name. */
  createDatabase(prefix?: string): Promise<string>;
  /** One statement as the superuser against `database`. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    sql: string,
    values?: unknown[],
  ): Promise<R[]>;
  /** Ends every other session on `database` (what a failover or a network cut does to the clients). */
  terminateConnections(database: string): Promise<number>;
  /** Fast shutdown: the server refuses connections until `start`. */
  stop(): Promise<void>;
  /** Starts the stopped server again, same data and port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and deletes its folder. */
  destroy(): Promise<void>;
}

/** The folder with initdb and postgres: $AUTHZD_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin, else $PATH. */
export function postgresBinDir(): string {
  if (process.env.AUTHZD_TEST_PG_BIN) return process.env.AUTHZD_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], 'bin');
  }
  try {
    return path.dirname(execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error('PostgreSQL is not installed (no initdb): run bash scripts/install-test-tools.sh');
  }
}

/** Who runs the server: this process, or when it is root, the `postgres` user (else `nobody`). */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      // Try the next.
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const identity = serverIdentity();
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-pg-'));
  const data = path.join(dir, 'data');
  const sockets = path.join(dir, 'sockets');
  mkdirSync(sockets);
  if (identity !== undefined) for (const d of [dir, sockets]) chownSync(d, identity.uid, identity.gid);
  const spawnOptions = {
    ...(identity ?? {}),
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: dir },
  };
  execFileSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', CLUSTER_USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { ...spawnOptions, stdio: 'pipe' },
  );

  let port = 0;
  let server: ChildProcess | undefined;
  let stderr = '';
  const killOnExit = () => server?.kill('SIGQUIT');
  process.once('exit', killOnExit);

  const launch = async (): Promise<void> => {
    stderr = '';
    const child = spawn(
      path.join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        sockets,
        '-c',
        'listen_addresses=127.0.0.1',
        // A test cluster: durability off for speed, enough connections for two replicas and a bench.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=32MB',
      ],
      { ...spawnOptions, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server = child;
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Ready when a connection succeeds; failed when the server exits first.
    for (const deadline = Date.now() + 30_000; ;) {
      const outcome = await Promise.race([
        exited.then(() => 'exited' as const),
        connectOnce(port).then((ok) => (ok ? ('ready' as const) : ('retry' as const))),
      ]);
      if (outcome === 'ready') return;
      if (outcome === 'exited') throw new Error(`postgres exited before accepting connections:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in 30 s:\n${stderr}`);
      await sleep(50);
    }
  };

  // A port another process grabbed between freePort and the server's bind: try another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt < 3 && /could not bind|Address already in use/.test(stderr)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  const stop = async (): Promise<void> => {
    const child = server;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  };
  const dsn = (database: string) => `postgres://${CLUSTER_USER}@127.0.0.1:${port}/${database}?sslmode=disable`;
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, values?: unknown[]) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: CLUSTER_USER, database });
    await client.connect();
    try {
      return (await client.query<R>(sql, values)).rows;
    } finally {
      await client.end();
    }
  };
  let databases = 0;
  return {
    get port() {
      return port;
    },
    dsn,
    query,
    async createDatabase(prefix = 'test') {
      const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${++databases}`;
      await query('postgres', `CREATE DATABASE ${name}`);
      return name;
    },
    async terminateConnections(database) {
      const rows = await query<{ n: string }>(
        'postgres',
        `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [database],
      );
      return Number(rows[0].n);
    },
    stop,
    start: launch,
    async destroy() {
      await stop();
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Tries one connection; true if the server accepted it. */
async function connectOnce(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: CLUSTER_USER,
    database: 'postgres',
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    await client.end().catch(() => {});
    return false;
  }
}

/**
 * One cluster for the calling test file: started before its tests, destroyed after them. Call at the top
 * level of the file; the returned function gives the running cluster.
 */
export function usePostgresCluster(): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (cluster === undefined) throw new Error('the PostgreSQL cluster is not running (beforeAll failed?)');
    return cluster;
  };
}
