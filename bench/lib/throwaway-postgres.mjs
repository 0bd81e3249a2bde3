// A throwaway PostgreSQL cluster for benchmarks (the tests have their own, test/helpers/postgres-cluster.ts):
// initdb in a temp folder, a free loopback port, run as the `postgres` user when this process is root
// (PostgreSQL refuses root). Debian's postgresql package provides the binaries.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PG_USER = 'authzd';

function binDir() {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], 'bin');
  }
  throw new Error(
    'PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/initdb): bash scripts/install-test-tools.sh',
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a cluster; resolves with { port, dsn(database), psql(database, sql), stop() } once it accepts connections. */
export async function startThrowawayPostgres({ maxConnections = 200 } = {}) {
  const bin = binDir();
  const identity =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        }
      : {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-pg-'));
  const sockets = path.join(dir, 'sockets');
  mkdirSync(sockets);
  if (identity.uid !== undefined) for (const d of [dir, sockets]) chownSync(d, identity.uid, identity.gid);
  const opts = { ...identity, cwd: dir, env: { PATH: process.env.PATH, LC_ALL: 'C', HOME: dir } };
  const data = path.join(dir, 'data');
  execFileSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', PG_USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { ...opts, stdio: 'pipe' },
  );
  const port = await freePort();
  // Default durability (fsync on): the database load measured is what a real one would do.
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
      '-c',
      `max_connections=${maxConnections}`,
    ],
    { ...opts, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const psql = (database, sql) =>
    execFileSync(
      path.join(bin, 'psql'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', database, '-Atc', sql],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ).trim();
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`postgres exited:\n${stderr}`);
    try {
      psql('postgres', 'SELECT 1');
      break;
    } catch {
      if (i > 300) throw new Error(`postgres did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    dsn: (database) => `postgres://${PG_USER}@127.0.0.1:${port}/${database}?sslmode=disable`,
    psql,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
