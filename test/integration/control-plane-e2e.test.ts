// The whole distribution path with real processes on loopback: `authzd control-plane` signs and serves the
// policy directory and a revocation feed; `authzd serve` follows both. A policy edit and a revocation
// reach decisions (in about a second on an idle machine: the times are logged, not asserted, because a
// loaded CI machine stretches them; `npm run soak` measures propagation under load); the sidecar keeps
// deciding without the control plane, and restarts from its bundle cache while the control plane is still down.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const ADMIN = 'e2e-admin-token-0123456789abcdef';
let dir: string;
let policies: string;
let keys: { privateKeyFile: string; publicKeyFile: string; kid: string };
let issuer: TestIssuer;
let cp: RunningCli<{ base: string }>;
let sidecar: RunningCli<{ grpcPort: number; adminPort: number }>;
const timings: Record<string, number> = {};
/** Revisions the sidecar took, in order (the control plane numbers them by the clock). */
const revisions: number[] = [];
const revisionOf = (version: string) => Number(version);

const startControlPlane = (port = 0) =>
  spawnCli(
    [
      'control-plane',
      '--policies',
      policies,
      '--signing-key',
      keys.privateKeyFile,
      '--kid',
      keys.kid,
      '--addr',
      `127.0.0.1:${port}`,
      '--data',
      path.join(dir, 'cp-data'),
    ],
    (l) => (l.msg === 'control plane ready' ? { base: `http://127.0.0.1:${l.port as number}` } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );

const startSidecar = (base: string) =>
  spawnCli(
    [
      'serve',
      '--issuer',
      ISSUER,
      '--audience',
      AUDIENCE,
      '--jwks',
      issuer.jwksFile,
      '--bundle-url',
      `${base}/v1/bundles/default`,
      '--bundle-public-key',
      `${keys.kid}=${keys.publicKeyFile}`,
      '--bundle-cache-dir',
      path.join(dir, 'sidecar-cache'),
      '--revocation-url',
      `${base}/v1/revocations`,
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
    ],
    (l) =>
      (typeof l.grpcPort === 'number' &&
        typeof l.adminPort === 'number' &&
        l.msg === 'authzd listening; not ready yet') ||
      (l.msg === 'authzd ready' && typeof l.grpcPort === 'number')
        ? { grpcPort: l.grpcPort, adminPort: l.adminPort as number }
        : undefined,
  );

async function decide(token: string) {
  const client = envoyAuthorizationClient(`127.0.0.1:${sidecar.info.grpcPort}`);
  try {
    const response = await client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    const meta = Object.fromEntries(
      Object.entries<any>(response.dynamic_metadata.fields).map(([k, v]) => [k, v.stringValue]),
    );
    return {
      allowed: response.http_response === 'ok_response',
      reason: meta.reason as string,
      version: meta.policy_version as string,
    };
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-e2e-'));
  policies = path.join(dir, 'policies');
  // Without the example's policy tests: they would (rightly) refuse the blanket maintenance forbid below.
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true, filter: (src) => path.basename(src) !== 'tests' });
  keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'cp-e2e' });
  issuer = await createTestIssuer();
  cp = await startControlPlane();
  sidecar = await startSidecar(cp.info.base);
  await until('the first bundle', async () =>
    (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/readyz`)).status === 200 ? true : undefined,
  );
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await cp?.stop();
  // Recorded for the issue note and docs/bundles.md: how long each propagation took on this run.
  console.log(`propagation (ms): ${JSON.stringify(timings)}`);
});

describe('control plane -> sidecar', () => {
  it("serves the control plane's first revision", async () => {
    const d = await decide(await issuer.sign({ sub: 'alice' }));
    expect(d).toMatchObject({ allowed: true });
    revisions.push(revisionOf(d.version));
  });

  it('a policy edit reaches decisions', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const file = path.join(policies, 'maintenance.cedar');
    const started = Date.now();
    writeFileSync(file, '@id("maintenance") forbid(principal, action == Bank::Action::"readAccount", resource);\n');
    const d = await until('the new revision to deny', async () => {
      const r = await decide(token);
      return r.allowed ? undefined : r;
    });
    timings.publishToDeny = Date.now() - started;
    expect(d).toMatchObject({ allowed: false, reason: 'policy_denied' });
    expect(revisionOf(d.version)).toBeGreaterThan(revisions.at(-1)!);
    revisions.push(revisionOf(d.version));
    writeFileSync(file, '// maintenance over\n');
    const third = await until('the third revision', async () => {
      const r = await decide(token);
      return r.allowed ? r : undefined;
    });
    expect(revisionOf(third.version)).toBeGreaterThan(revisions.at(-1)!);
    revisions.push(revisionOf(third.version));
  });

  it('a revocation denies a previously allowed token', async () => {
    const token = await issuer.sign({ sub: 'bob', roles: ['teller'], jti: 'tok-bob-1' });
    expect(await decide(token)).toMatchObject({ allowed: true });
    const started = Date.now();
    const res = await fetch(`${cp.info.base}/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'jti', value: 'tok-bob-1', ttlSeconds: 3600 }),
    });
    expect(res.status).toBe(201);
    const d = await until('the revocation to apply', async () => {
      const r = await decide(token);
      return r.allowed ? undefined : r;
    });
    timings.revokeToDeny = Date.now() - started;
    expect(d.reason).toBe('token_revoked');
    // Another token of the same user is unaffected.
    expect(await decide(await issuer.sign({ sub: 'bob', roles: ['teller'], jti: 'tok-bob-2' }))).toMatchObject({
      allowed: true,
    });
  });

  it('keeps deciding when the control plane stops', async () => {
    expect(await cp.stop()).toBe(0);
    const token = await issuer.sign({ sub: 'alice' });
    for (let i = 0; i < 5; i++)
      expect(await decide(token)).toMatchObject({ allowed: true, version: String(revisions.at(-1)) });
    // Revocations already received stay in force.
    expect(await decide(await issuer.sign({ sub: 'bob', roles: ['teller'], jti: 'tok-bob-1' }))).toMatchObject({
      reason: 'token_revoked',
    });
  });

  it('restarts from its cached bundle while the control plane is still down', async () => {
    expect(await sidecar.stop()).toBe(0);
    const cached = JSON.parse(readFileSync(path.join(dir, 'sidecar-cache', 'bundle.json'), 'utf8'));
    expect(cached.revision).toBe(revisions.at(-1));
    sidecar = await startSidecar(cp.info.base);
    expect((await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/readyz`)).status).toBe(200);
    expect(await decide(await issuer.sign({ sub: 'alice' }))).toMatchObject({
      allowed: true,
      version: String(revisions.at(-1)),
    });
    // The revocation received before the restart is still in force (it was persisted beside the bundle).
    expect(await decide(await issuer.sign({ sub: 'bob', roles: ['teller'], jti: 'tok-bob-1' }))).toMatchObject({
      reason: 'token_revoked',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/authzd_bundle_failures_total\{stage="fetch",reason="network"\} [1-9]/);
  });
});
