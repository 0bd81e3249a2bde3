// Decision shipping end to end with real processes on loopback: `authzd serve` with audit.ship sends its
// audit events to `authzd control-plane`, which appends them to its daily file; `authzd replay` on that file
// with a changed policy directory reports what the change would do, from the file and from a PostgreSQL
// store holding the same events. Needs dist/ (npx tsc -p .).
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { clusterSettings, openTestStore } from '../helpers/control-plane-stores.js';
import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';
import { CLI, ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const ADMIN = 'ship-admin-token-0123456789abcdef';
const INGEST = 'ship-ingest-token-0123456789abcdef';
let dir: string;
let issuer: TestIssuer;
let cp: RunningCli<{ base: string }>;
let sidecar: RunningCli<{ grpcPort: number; adminPort: number }>;
const decided: { id: string; allowed: boolean; reason: string }[] = [];
const cluster = usePostgresCluster();

const decisionsDir = () => path.join(dir, 'cp-data', 'decisions');
const shippedLines = () =>
  readdirSync(decisionsDir())
    .filter((name) => name.endsWith('.ndjson'))
    .flatMap((name) => readFileSync(path.join(decisionsDir(), name), 'utf8').split('\n'))
    .filter((line) => line !== '');
const shippedIds = () => shippedLines().map((line) => (JSON.parse(line) as { decision_id: string }).decision_id);

async function check(pathname: string, claims?: Record<string, unknown>) {
  const client = envoyAuthorizationClient(`127.0.0.1:${sidecar.info.grpcPort}`);
  try {
    const token = claims === undefined ? undefined : await issuer.sign(claims);
    const response = await client.check(
      httpCheckRequest({ path: pathname, ...(token !== undefined ? { token } : {}) }),
    );
    const meta = Object.fromEntries(
      Object.entries<any>(response.dynamic_metadata.fields).map(([k, v]) => [k, v.stringValue]),
    );
    decided.push({
      id: meta.decision_id as string,
      allowed: response.http_response === 'ok_response',
      reason: meta.reason as string,
    });
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-ship-'));
  const policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'ship-e2e' });
  issuer = await createTestIssuer();
  writeFileSync(path.join(dir, 'ingest-token'), `${INGEST}\n`);
  cp = await spawnCli(
    [
      'control-plane',
      '--policies',
      policies,
      '--signing-key',
      keys.privateKeyFile,
      '--kid',
      keys.kid,
      '--addr',
      '127.0.0.1:0',
      '--data',
      path.join(dir, 'cp-data'),
      '--ingest-token-file',
      path.join(dir, 'ingest-token'),
    ],
    (l) => (l.msg === 'control plane ready' ? { base: `http://127.0.0.1:${l.port as number}` } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );
  // A full batch (5) is sent at once; a partial one only after a minute, or at shutdown.
  writeFileSync(
    path.join(dir, 'authzd.yaml'),
    [
      'audit:',
      `  destination: ${path.join(dir, 'audit.log')}`,
      '  ship:',
      `    url: ${cp.info.base}/v1/decisions`,
      `    tokenFile: ${path.join(dir, 'ingest-token')}`,
      '    batchSize: 5',
      '    flushIntervalMs: 60000',
      '',
    ].join('\n'),
  );
  sidecar = await spawnCli(
    [
      'serve',
      '--config',
      path.join(dir, 'authzd.yaml'),
      '--policies',
      policies,
      '--issuer',
      ISSUER,
      '--audience',
      AUDIENCE,
      '--jwks',
      issuer.jwksFile,
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
    ],
    (l) =>
      l.msg === 'authzd ready' && typeof l.grpcPort === 'number'
        ? { grpcPort: l.grpcPort, adminPort: l.adminPort as number }
        : undefined,
  );
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await cp?.stop();
});

describe('decision shipping: sidecar -> control plane -> replay', () => {
  it('ships a full batch at once', async () => {
    await check('/accounts/acc-1001', { sub: 'alice' });
    await check('/accounts/acc-1001', { sub: 'bob', roles: ['teller'] });
    await check('/accounts/acc-2001', { sub: 'alice' });
    await check('/accounts/acc-1001');
    await check('/nowhere', { sub: 'alice' });
    await until('the first batch', () => shippedIds().length === 5 || undefined);
    expect(shippedIds()).toEqual(decided.map((d) => d.id));
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^authzd_decisions_shipped_total 5$/m);
  });

  it('ships the rest on shutdown, and the daily file holds exactly the decisions made, as logged locally', async () => {
    await check('/accounts/acc-1002', { sub: 'alice' });
    await check('/accounts/acc-1001', { sub: 'carol' });
    await check('/accounts/acc-1002', { sub: 'bob', roles: ['teller'] });
    expect(shippedIds()).toHaveLength(5);
    expect(await sidecar.stop()).toBe(0);
    expect(decided.map((d) => [d.allowed, d.reason])).toEqual([
      [true, 'policy_allowed'],
      [true, 'policy_allowed'],
      [false, 'policy_denied'],
      [false, 'token_missing'],
      [false, 'route_not_found'],
      [true, 'policy_allowed'],
      [false, 'no_matching_permit'],
      [true, 'policy_allowed'],
    ]);
    expect(shippedIds().sort()).toEqual(decided.map((d) => d.id).sort());
    const local = readFileSync(path.join(dir, 'audit.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    expect(shippedLines().sort()).toEqual(local.sort());
  });

  it('`authzd replay` on the daily file reports what a new forbid would change', async () => {
    const changed = path.join(dir, 'changed');
    cpSync(path.join(ROOT, 'policies'), changed, { recursive: true });
    writeFileSync(
      path.join(changed, 'maintenance.cedar'),
      '@id("maintenance")\nforbid (principal, action == Bank::Action::"readAccount", resource);\n',
    );
    const files = readdirSync(decisionsDir()).map((name) => path.join(decisionsDir(), name));
    const run = promisify(execFile);

    const text = await run(process.execPath, [CLI, 'replay', ...files, '--policies', changed]);
    expect(text.stdout).toMatch(
      /allow -> deny\s+get-account\s+allow policy_allowed \(account-owner-read\)\s+deny policy_denied \(maintenance\)\s+2/,
    );

    const gated = await run(process.execPath, [
      CLI,
      'replay',
      ...files,
      '--policies',
      changed,
      '--output',
      'json',
      '--fail-on-change',
    ]).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(gated.code).toBe(1);
    const report = JSON.parse(gated.stdout);
    expect(report.exact).toEqual({ unchanged: 0, allow_to_deny: 4, deny_to_allow: 0, reason_changed: 2 });
    expect(report.notReplayable).toMatchObject({ outsideEngine: 2, noInput: 0, errors: 0 });
    const allowed = decided.filter((d) => d.allowed).map((d) => d.id);
    const flipped = report.changes.filter((g: any) => g.kind === 'allow_to_deny').flatMap((g: any) => g.examples);
    expect(flipped.sort()).toEqual(allowed.sort());

    // The same set that made the decisions: nothing changes, and the gate passes.
    const same = await run(process.execPath, [
      CLI,
      'replay',
      ...files,
      '--policies',
      path.join(ROOT, 'policies'),
      '--fail-on-change',
    ]);
    expect(same.stdout).toContain('no decision would change.');
  });

  it('`authzd replay --store` reads the same events from a PostgreSQL store and reports the same', async () => {
    const changed = path.join(dir, 'changed');
    const database = await cluster().createDatabase('replay');
    const settings = clusterSettings(cluster(), database);
    const store = await openTestStore({ kind: 'postgres', postgres: settings });
    try {
      // As the control plane appends them: one batch a shipment, in the order the file has them.
      await store.decisions.append(`${shippedLines().join('\n')}\n`);
    } finally {
      await store.close();
    }
    const run = promisify(execFile);
    const args = ['--policies', changed, '--output', 'json'];
    const files = readdirSync(decisionsDir()).map((name) => path.join(decisionsDir(), name));
    const fromFiles = JSON.parse((await run(process.execPath, [CLI, 'replay', ...files, ...args])).stdout);
    const dsn = `postgres://${settings.user}@127.0.0.1:${settings.port}/${database}?sslmode=disable`;
    const fromStore = JSON.parse((await run(process.execPath, [CLI, 'replay', '--store', dsn, ...args])).stdout);
    const { files: _f, elapsedSeconds: _e, ...same } = fromFiles;
    const { files: storeFiles, elapsedSeconds: _se, ...sameFromStore } = fromStore;
    expect(storeFiles).toEqual([`postgres://${settings.user}@127.0.0.1:${settings.port}/${database}`]);
    expect(fromStore.exact.allow_to_deny).toBe(4);
    // Locations differ (a partition and row ids instead of a file and lines); the verdicts do not.
    expect(JSON.stringify(sameFromStore).replace(/"(file|line)":("[^"]*"|\d+)/g, '')).toEqual(
      JSON.stringify(same).replace(/"(file|line)":("[^"]*"|\d+)/g, ''),
    );
    // A day with nothing: nothing replayed; a password on the command line: refused, not echoed.
    const empty = JSON.parse(
      (
        await run(process.execPath, [
          CLI,
          'replay',
          '--store',
          dsn,
          '--from',
          '2001-01-01',
          '--to',
          '2001-01-01',
          ...args,
        ])
      ).stdout,
    );
    expect(empty.events).toBe(0);
    const refused = await run(process.execPath, [
      CLI,
      'replay',
      '--store',
      dsn.replace('@', ':hunter2-pw@'),
      ...args,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds a password/);
    expect(refused.stderr).not.toContain('hunter2');
  });
});
