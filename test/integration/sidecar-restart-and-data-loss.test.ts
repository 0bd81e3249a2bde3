// What survives a restart, and what a control plane that lost its data does to its sidecars, with real
// processes on loopback: `authzd control-plane` signs bundles and serves the revocation feed, `authzd serve`
// follows both with a cache directory.
//
// - A sidecar restarted while the control plane is down keeps the revocations it had (persisted beside the
//   bundle cache) and is ready; a damaged persisted list is refused, and a list older than
//   revocation.cacheMaxAgeSeconds is held but does not make it ready; either way it becomes ready when the
//   feed answers.
// - A control plane started on an empty --data publishes revisions above what sidecars hold (revisions
//   follow the clock), so they take its bundles; its revocation feed is a new feed (another id), which the
//   sidecar notices, counts and logs, and every revocation the sidecar held stays in force.
// Needs dist/ (npx tsc -p .).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { metricSum } from '../helpers/fault-server.js';
import { freePort } from '../helpers/free-port.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { NOT_READY, readinessOf, READY } from '../helpers/readiness.js';
import { ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const ADMIN = 'restart-admin-token-0123456789abcdef';
type Sidecar = RunningCli<{ grpcPort: number; adminPort: number }>;

let dir: string;
let policies: string;
let keys: { privateKeyFile: string; publicKeyFile: string; kid: string };
let issuer: TestIssuer;
let port: number;
let cp: RunningCli<{ base: string }> | undefined;
let sidecar: Sidecar | undefined;
/** Tokens revoked on the first control plane: one by jti, one by subject. */
let revokedJti: string;
let revokedSub: string;
let fine: string;

const cacheDir = () => path.join(dir, 'sidecar-cache');
const revocationFile = () => path.join(cacheDir(), 'revocations.json');

const startControlPlane = (data: string) =>
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
      path.join(dir, data),
    ],
    (l) => (l.msg === 'control plane ready' ? { base: `http://127.0.0.1:${l.port as number}` } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );

function startSidecar(revocation: Record<string, unknown> = {}): Promise<Sidecar> {
  const base = `http://127.0.0.1:${port}`;
  const config = {
    grpc: { address: '127.0.0.1:0' },
    admin: { address: '127.0.0.1:0' },
    tokens: { issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: issuer.jwksFile }] },
    bundle: {
      url: `${base}/v1/bundles/default`,
      publicKeys: [{ file: keys.publicKeyFile, kid: keys.kid }],
      cacheDir: cacheDir(),
      pollWaitSeconds: 2,
      minBackoffMs: 50,
      maxBackoffMs: 300,
    },
    revocation: {
      url: `${base}/v1/revocations`,
      pollWaitSeconds: 2,
      minBackoffMs: 50,
      maxBackoffMs: 300,
      ...revocation,
    },
  };
  const file = path.join(dir, 'sidecar.json');
  writeFileSync(file, JSON.stringify(config));
  return spawnCli(['serve', '--config', file], (l) =>
    (l.msg === 'authzd ready' || l.msg === 'authzd listening; not ready yet') && typeof l.grpcPort === 'number'
      ? { grpcPort: l.grpcPort, adminPort: l.adminPort as number }
      : undefined,
  );
}

async function decide(token: string) {
  const client = envoyAuthorizationClient(`127.0.0.1:${sidecar!.info.grpcPort}`);
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

async function revoke(body: Record<string, unknown>) {
  const res = await fetch(`${cp!.info.base}/v1/revocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlSeconds: 3600, ...body }),
  });
  expect(res.status).toBe(201);
}

const logLines = (s: Sidecar) =>
  s
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-restart-'));
  policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true, filter: (src) => path.basename(src) !== 'tests' });
  keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'cp-restart' });
  issuer = await createTestIssuer();
  port = await freePort();
  cp = await startControlPlane('data-1');
  sidecar = await startSidecar();
  // Generous: a loaded machine takes a while to start both processes; a wait, not a bound.
  await until(
    'the sidecar to be ready',
    async () => ((await readinessOf(sidecar!.info)).readyz === 200 ? true : undefined),
    45_000,
  );
  revokedJti = await issuer.sign({ sub: 'alice', jti: 'tok-revoked' });
  revokedSub = await issuer.sign({ sub: 'bob', roles: ['teller'], jti: 'tok-bob' });
  fine = await issuer.sign({ sub: 'alice', jti: 'tok-fine' });
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await cp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('a sidecar restarted while the control plane is down', () => {
  it('keeps the revocations it had, persisted beside its bundle cache, and is ready', async () => {
    expect(await decide(revokedJti)).toMatchObject({ allowed: true });
    expect(await decide(revokedSub)).toMatchObject({ allowed: true });
    await revoke({ kind: 'jti', value: 'tok-revoked' });
    await revoke({ kind: 'sub', value: 'bob', issuedBefore: Math.floor(Date.now() / 1000) + 1 });
    await until('both revocations to apply', async () =>
      (await decide(revokedJti)).reason === 'token_revoked' && (await decide(revokedSub)).reason === 'token_revoked'
        ? true
        : undefined,
    );
    await until('the persisted list to hold both', () =>
      existsSync(revocationFile()) && /"bob"/.test(readFileSync(revocationFile(), 'utf8')) ? true : undefined,
    );

    expect(await cp!.stop()).toBe(0);
    cp = undefined;
    expect(await sidecar!.stop()).toBe(0);
    sidecar = await startSidecar();
    expect(await readinessOf(sidecar.info)).toEqual(READY);
    expect(await decide(revokedJti)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(await decide(revokedSub)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(await decide(fine)).toMatchObject({ allowed: true });
    expect(
      logLines(sidecar).find((l) => l.msg === 'persisted revocation list taken up; its revocations are in force'),
    ).toMatchObject({ live: 2, seq: 2 });
    // The poll failures say what is true now: held revocations stay, newer ones are unknown.
    await until('a failed poll', () =>
      logLines(sidecar!).some(
        (l) =>
          l.msg ===
          'revocation feed poll failed; revocations held stay in force until they expire, revocations made since the last answer are not known',
      )
        ? true
        : undefined,
    );
    expect(sidecar.stderr()).not.toContain('known revocations stay in force');
  });

  it('refuses a damaged persisted list: not ready until the feed answers, and the log says why', async () => {
    expect(await sidecar!.stop()).toBe(0);
    const intact = readFileSync(revocationFile(), 'utf8');
    // One revocation altered in place, as a flipped bit or a hand edit would: the digest no longer matches.
    writeFileSync(revocationFile(), intact.replace('"tok-revoked"', '"tok-revokee"'));
    sidecar = await startSidecar();
    expect(await readinessOf(sidecar.info)).toEqual(NOT_READY);
    const lines = logLines(sidecar);
    expect(
      lines.find((l) => l.msg === 'persisted revocation list refused; not ready until the revocation feed answers'),
    ).toMatchObject({
      file: revocationFile(),
      detail: 'the SHA-256 of the content does not match: the file was altered or damaged',
    });
    expect(lines.find((l) => l.msg === 'authzd listening; not ready yet')?.problems).toEqual([
      expect.stringContaining('the persisted revocation list at'),
    ]);

    // An intact list older than revocation.cacheMaxAgeSeconds (0 here): held, in force, but not ready.
    expect(await sidecar.stop()).toBe(0);
    writeFileSync(revocationFile(), intact);
    sidecar = await startSidecar({ cacheMaxAgeSeconds: 0 });
    expect(await readinessOf(sidecar.info)).toEqual(NOT_READY);
    expect(await decide(revokedJti)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(logLines(sidecar).find((l) => l.msg === 'authzd listening; not ready yet')?.problems).toEqual([
      expect.stringMatching(
        /^the revocation feed has not answered yet and the persisted revocation list at .* was last in sync at .*, longer ago than revocation\.cacheMaxAgeSeconds \(0\)$/,
      ),
    ]);
    // The never-reached feed shows as lag (since the list was last in sync), not as 0.
    const lag = metricSum(
      await (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/metrics`)).text(),
      'authzd_revocation_feed_lag_seconds',
    );
    expect(lag).toBeGreaterThan(0);

    // The control plane comes back: the feed answers, the sidecar is ready.
    cp = await startControlPlane('data-1');
    await until('the sidecar to become ready', async () =>
      (await readinessOf(sidecar!.info)).readyz === 200 ? true : undefined,
    );
    expect(await readinessOf(sidecar.info)).toEqual(READY);
    expect(logLines(sidecar).some((l) => l.msg === 'authzd ready')).toBe(true);
  });
});

describe('a control plane that lost its data', () => {
  const metricsText = async () => (await fetch(`http://127.0.0.1:${sidecar!.info.adminPort}/metrics`)).text();
  const revoked = async (jti: string) =>
    (await decide(await issuer.sign({ sub: 'alice', jti }))).reason === 'token_revoked';

  it('publishes above the revision a running sidecar holds, and its new feed un-revokes nothing', async () => {
    // A second publication first, so the sidecar holds more than the first revision any store would make.
    const first = Number((await decide(fine)).version);
    writeFileSync(
      path.join(policies, 'reviewed.cedar'),
      '@id("reviewed") forbid (principal, action, resource) when { false };\n',
    );
    const held = await until('the sidecar to take the second revision', async () => {
      const version = Number((await decide(fine)).version);
      return version > first ? version : undefined;
    });

    // The data folder is gone: the same control plane, on the same address, starts on an empty --data,
    // while the sidecar keeps running.
    expect(await cp!.stop()).toBe(0);
    cp = await startControlPlane('data-2');
    const served = Number((await fetch(`${cp.info.base}/v1/bundles/default`)).headers.get('x-authzd-revision'));
    const outcome = await until("the sidecar to take or refuse the new control plane's bundle", async () =>
      (await decide(fine)).version === String(served)
        ? 'taken'
        : metricSum(await metricsText(), 'authzd_bundle_failures_total', { reason: 'bundle_rollback' }) > 0
          ? 'refused as a rollback'
          : undefined,
    );
    expect(outcome).toBe('taken');
    expect(served).toBeGreaterThan(held);

    // Its feed is a new one: the reset is counted and logged, and every revocation held stays in force.
    await until('the feed reset', async () =>
      metricSum(await metricsText(), 'authzd_revocation_feed_resets_total', { cause: 'feed_changed' }) === 1
        ? true
        : undefined,
    );
    expect(await decide(revokedJti)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(await decide(revokedSub)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    const reset = logLines(sidecar!).find((l) =>
      l.msg?.startsWith('revocation feed reset: the control plane serves another feed'),
    );
    expect(reset).toMatchObject({ cause: 'feed_changed', since: 2, kept: 2, live: 2, seq: 0 });
    expect(reset!.feed).not.toBe(reset!.previousFeed);
    // The new feed's own revocations apply as usual.
    await revoke({ kind: 'jti', value: 'second-feed-1' });
    await until("the new feed's revocation", async () => ((await revoked('second-feed-1')) ? true : undefined));
    expect(metricSum(await metricsText(), 'authzd_revocations')).toBe(3);
    expect(await readinessOf(sidecar!.info)).toEqual(READY);
  });

  it('restarted on a third feed whose numbers passed its cursor, takes the whole feed and keeps what it held', async () => {
    // The sidecar's cursor is 1 in the second feed. The store is lost again, and the third feed reaches
    // sequence 3 before the sidecar is back: asked "since 1", a server that only compared numbers would
    // send 2 and 3 and the sidecar would miss third-feed-1. The feed id makes it a reset.
    expect(await sidecar!.stop()).toBe(0);
    expect(await cp!.stop()).toBe(0);
    cp = await startControlPlane('data-3');
    for (const jti of ['third-feed-1', 'third-feed-2', 'third-feed-3']) await revoke({ kind: 'jti', value: jti });

    sidecar = await startSidecar();
    expect(
      logLines(sidecar).find((l) => l.msg === 'persisted revocation list taken up; its revocations are in force'),
    ).toMatchObject({ live: 3, seq: 1 });
    await until('the third feed', async () => ((await revoked('third-feed-3')) ? true : undefined));
    for (const jti of ['third-feed-1', 'third-feed-2', 'third-feed-3', 'second-feed-1'])
      expect(await revoked(jti), jti).toBe(true);
    expect(await decide(revokedJti)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(await decide(revokedSub)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(await decide(fine)).toMatchObject({ allowed: true });
    const metrics = await metricsText();
    expect(metricSum(metrics, 'authzd_revocation_feed_resets_total', { cause: 'feed_changed' })).toBe(1);
    expect(metricSum(metrics, 'authzd_revocations')).toBe(6);
    expect(
      logLines(sidecar).find((l) => l.msg?.startsWith('revocation feed reset: the control plane serves another feed')),
    ).toMatchObject({ since: 1, kept: 3, live: 6, seq: 3 });
  });
});
