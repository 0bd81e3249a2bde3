// `authzd control-plane --admin-addr`: a second listener for publishing and revoking, which the main
// listener then refuses, so a network policy can admit sidecars (reads) and operators (writes) apart. Real
// processes on loopback.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { CLI, ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';

const ADMIN = 'listener-admin-token-0123456789abcdef';
const READ = 'listener-read-token-0123456789abcdef';

let dir: string;
let args: string[];
let cp: RunningCli<{ port: number; adminPort: number }>;
const main = (p: string) => `http://127.0.0.1:${cp.info.port}${p}`;
const admin = (p: string) => `http://127.0.0.1:${cp.info.adminPort}${p}`;
const publish = (url: string) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
const revoke = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'jti', value: 'j-1', ttlSeconds: 60 }),
  });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-admin-'));
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'listener-test' });
  cpSync(path.join(ROOT, 'policies'), path.join(dir, 'policies'), { recursive: true });
  args = [
    'control-plane',
    '--policies',
    path.join(dir, 'policies'),
    '--signing-key',
    keys.privateKeyFile,
    '--kid',
    keys.kid,
    '--data',
    path.join(dir, 'data'),
  ];
  cp = await spawnCli(
    [...args, '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'],
    (l) => (l.msg === 'control plane ready' ? { port: l.port as number, adminPort: l.adminPort as number } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN, AUTHZD_CP_READ_TOKEN: READ } },
  );
});
afterAll(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('control plane with --admin-addr', () => {
  it('listens twice and says where', () => {
    expect(cp.info.port).toBeGreaterThan(0);
    expect(cp.info.adminPort).toBeGreaterThan(0);
    expect(cp.info.adminPort).not.toBe(cp.info.port);
  });

  it('the main listener serves what sidecars need: bundles, revisions, the revocation feed, authorize', async () => {
    const read = { authorization: `Bearer ${READ}` };
    expect((await fetch(main('/v1/bundles/default'), { headers: read })).status).toBe(200);
    expect((await fetch(main('/v1/bundles/default/revisions'), { headers: read })).status).toBe(200);
    expect((await fetch(main('/v1/revocations?since=0'), { headers: read })).status).toBe(200);
    const authorize = await fetch(main('/v1/authorize'), {
      method: 'POST',
      headers: { ...read, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(authorize.status).toBe(400); // reached the endpoint: the body is what is wrong
    expect((await fetch(main('/readyz'))).status).toBe(200);
  });

  it('the main listener refuses publishing and revoking, even with the admin token', async () => {
    for (const r of [await publish(main('/v1/bundles/default/publish')), await revoke(main('/v1/revocations'))]) {
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ error: 'not_found', detail: expect.stringContaining('--admin-addr') });
    }
  });

  it('the admin listener publishes and revokes, and serves reads too', async () => {
    const published = await publish(admin('/v1/bundles/default/publish'));
    expect(published.status).toBe(200);
    expect(await published.json()).toMatchObject({ result: 'unchanged' });
    const revoked = await revoke(admin('/v1/revocations'));
    expect(revoked.status).toBe(201);
    // The revocation made on the admin listener is in the feed the main listener serves.
    const feed = (await (
      await fetch(main('/v1/revocations?since=0'), { headers: { authorization: `Bearer ${READ}` } })
    ).json()) as { entries: { value: string }[] };
    expect(feed.entries.map((e) => e.value)).toContain('j-1');
    expect((await fetch(admin('/v1/bundles/default'), { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(
      200,
    );
    // Tokens are checked there as everywhere.
    expect(
      (
        await fetch(admin('/v1/bundles/default/publish'), {
          method: 'POST',
          headers: { authorization: `Bearer ${READ}` },
        })
      ).status,
    ).toBe(401);
  });

  it('an admin address already in use is a start-up error naming --admin-addr and the address', async () => {
    const taken = `127.0.0.1:${cp.info.adminPort}`;
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args.map((a) => (a.endsWith('/data') ? `${a}-2` : a)), '--addr', '127.0.0.1:0', '--admin-addr', taken],
        { env: { ...process.env, AUTHZD_CP_ADMIN_TOKEN: ADMIN }, timeout: 100_000 },
        (error, _stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--admin-addr ${taken}: cannot listen: the address is in use`);
  });
});
