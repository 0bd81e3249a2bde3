// Readiness that tells the truth, with real `authzd serve` processes: /readyz, authzd_ready and gRPC health
// say "ready" only when the sidecar can decide, and the log says why not.
//
// - Key sets: with its issuer's JWKS unreachable a sidecar is not ready, checks answer UNAVAILABLE
//   jwks_unavailable, and the log names issuer, URL and cause (never the token). It becomes ready by itself
//   when the endpoint answers (no traffic needed), persists the key set, and restarted during the next
//   outage is ready from that copy. A remote JWKS that is empty or holds private key members is refused,
//   counted and logged while the last good set stays; as a jwksFile either one stops start-up.
// - Revocations: a sidecar whose feed never answers, without a persisted list, is not ready, says so, and
//   its feed lag grows from start-up instead of reading 0.
// Needs dist/ (npx tsc -p .).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { faults, type FaultServer, metricSum, startFaultServer } from '../helpers/fault-server.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { NOT_READY, readinessOf, READY } from '../helpers/readiness.js';
import { CLI, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

type Sidecar = RunningCli<{ grpcPort: number; adminPort: number }>;

let dir: string;
let issuer: TestIssuer;
let jwks: FaultServer;
let feed: FaultServer;
let sidecar: Sidecar | undefined;

function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ grpc: { address: '127.0.0.1:0' }, admin: { address: '127.0.0.1:0' }, ...config }),
  );
  return file;
}

const startSidecar = (config: Record<string, unknown>) =>
  spawnCli(['serve', '--config', writeConfig('sidecar', config)], (l) =>
    (l.msg === 'authzd ready' || l.msg === 'authzd listening; not ready yet') && typeof l.grpcPort === 'number'
      ? { grpcPort: l.grpcPort, adminPort: l.adminPort as number }
      : undefined,
  );

const remoteIssuer = () => ({
  tokens: {
    cacheDir: path.join(dir, 'cache'),
    issuers: [
      {
        issuer: ISSUER,
        audiences: [AUDIENCE],
        jwksUrl: `${jwks.url}/jwks.json`,
        jwksTimeoutMs: 500,
        jwksCooldownMs: 1_000,
        jwksMaxAgeMs: 1_000,
      },
    ],
  },
});

async function check(token: string): Promise<{ allowed?: boolean; reason?: string; code?: number; details?: string }> {
  const client = envoyAuthorizationClient(`127.0.0.1:${sidecar!.info.grpcPort}`);
  try {
    const response = await client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    return {
      allowed: response.http_response === 'ok_response',
      reason: response.dynamic_metadata.fields.reason.stringValue as string,
    };
  } catch (err) {
    return { code: (err as { code: number }).code, details: (err as { details: string }).details };
  } finally {
    client.close();
  }
}

const logLines = (s: Sidecar) =>
  s
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
const metricsOf = async (s: Sidecar) => (await fetch(`http://127.0.0.1:${s.info.adminPort}/metrics`)).text();
/** The persisted key sets (a refresh every second may have a temporary file beside them: not counted). */
const persistedKeySets = () =>
  readdirSync(path.join(dir, 'cache', 'jwks'))
    .filter((f) => f.endsWith('.json'))
    .map(
      (f) =>
        JSON.parse(readFileSync(path.join(dir, 'cache', 'jwks', f), 'utf8')) as {
          issuer: string;
          url: string;
          jwks: unknown;
        },
    );

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-readiness-'));
  issuer = await createTestIssuer();
  jwks = await startFaultServer(faults.reset());
  feed = await startFaultServer(faults.hang());
});

afterAll(async () => {
  await sidecar?.stop();
  await jwks?.close();
  await feed?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('a sidecar whose issuer key set is unusable', () => {
  const jwksBody = () => readFileSync(issuer.jwksFile, 'utf8');

  it('is not ready while its JWKS is unreachable, and the log names issuer, URL and cause, never the token', async () => {
    sidecar = await startSidecar(remoteIssuer());
    expect(await readinessOf(sidecar.info)).toEqual(NOT_READY);
    await until('the first fetch to fail', () =>
      logLines(sidecar!).some((l) => l.msg?.startsWith('JWKS fetch failed')) ? true : undefined,
    );
    expect(await readinessOf(sidecar.info)).toEqual(NOT_READY);
    const failed = logLines(sidecar).find(
      (l) => l.msg === 'JWKS fetch failed; no usable key set: tokens of this issuer fail with jwks_unavailable',
    );
    expect(failed).toMatchObject({ issuer: ISSUER, url: `${jwks.url}/jwks.json`, heldKeySet: false });
    expect(failed!.cause).toMatch(/^fetch failed \((ECONNRESET|other side closed|UND_ERR_SOCKET)\)$/);
    const notReady = logLines(sidecar).find((l) => l.msg === 'authzd listening; not ready yet');
    expect(notReady?.problems).toEqual([
      expect.stringContaining(`no usable key set for issuer ${ISSUER} from ${jwks.url}/jwks.json`),
    ]);

    const token = await issuer.sign({ sub: 'alice' });
    expect(await check(token)).toEqual({ code: 14, details: 'jwks_unavailable' });
    const error = await until('the check failure in the log', () =>
      logLines(sidecar!).find((l) => l.reason === 'jwks_unavailable' && l.msg?.startsWith('check failed')),
    );
    expect(error.detail).toMatch(
      new RegExp(`^key set of ${ISSUER} \\(${jwks.url}/jwks\\.json\\) unavailable: fetch failed \\(`),
    );
    expect(sidecar.stderr()).not.toContain(token);
    expect(sidecar.stderr()).not.toContain(token.split('.')[2]);
  });

  it('becomes ready by itself when the endpoint answers, and keeps the key set on disk', async () => {
    jwks.handle(faults.bytes(200, jwksBody(), { 'content-type': 'application/json' }));
    await until('readiness', async () => ((await readinessOf(sidecar!.info)).readyz === 200 ? true : undefined));
    expect(await readinessOf(sidecar!.info)).toEqual(READY);
    expect(await check(await issuer.sign({ sub: 'alice' }))).toEqual({ allowed: true, reason: 'policy_allowed' });
    expect(persistedKeySets()).toEqual([
      expect.objectContaining({ issuer: ISSUER, url: `${jwks.url}/jwks.json`, jwks: JSON.parse(jwksBody()) }),
    ]);
  });

  it('refuses an empty key set and one with private key members, keeping the last good one', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const leaked = { keys: [{ ...(await exportJWK(privateKey)), kid: 'leaked', alg: 'ES256' }] };
    const cases: [string, string, RegExp][] = [
      ['empty', '{"keys":[]}', /the key set is empty/],
      ['private', JSON.stringify(leaked), /keys\[0\] \(kid "leaked"\): has private key members \(d\)/],
    ];
    for (const [name, body, cause] of cases) {
      const before = metricSum(await metricsOf(sidecar!), 'authzd_jwks_refreshes_total', {
        issuer: ISSUER,
        result: 'refused',
      });
      jwks.handle(faults.bytes(200, body, { 'content-type': 'application/json' }));
      // The background refresh runs every second here (80% of jwksMaxAgeMs, at least 1 s).
      await until(`the ${name} set to be refused`, async () =>
        metricSum(await metricsOf(sidecar!), 'authzd_jwks_refreshes_total', { issuer: ISSUER, result: 'refused' }) >
        before
          ? true
          : undefined,
      );
      const refused = logLines(sidecar!)
        .filter((l) => l.msg === 'JWKS refused; the last good key set stays in use')
        .at(-1);
      expect(refused).toMatchObject({ issuer: ISSUER, url: `${jwks.url}/jwks.json`, heldKeySet: true });
      expect(refused!.cause).toMatch(cause);
      expect(await readinessOf(sidecar!.info)).toEqual(READY);
      expect(await check(await issuer.sign({ sub: 'alice' }))).toEqual({ allowed: true, reason: 'policy_allowed' });
      // The refused set never replaced the persisted one.
      expect(persistedKeySets().map((p) => p.jwks)).toEqual([JSON.parse(jwksBody())]);
    }
    // A leaked private key never reaches the log.
    expect(sidecar!.stderr()).not.toContain(leaked.keys[0].d!);
  });

  it('restarted during the next outage, is ready from the persisted key set', async () => {
    expect(await sidecar!.stop()).toBe(0);
    jwks.handle(faults.reset());
    sidecar = await startSidecar(remoteIssuer());
    expect(logLines(sidecar).find((l) => l.msg === 'JWKS taken from the persisted last good copy')).toMatchObject({
      issuer: ISSUER,
    });
    expect(await readinessOf(sidecar.info)).toEqual(READY);
    expect(await check(await issuer.sign({ sub: 'alice' }))).toEqual({ allowed: true, reason: 'policy_allowed' });
    expect(await sidecar.stop()).toBe(0);
    sidecar = undefined;
  });

  it('refuses at start-up a jwksFile that is empty or holds private key members', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const cases: [object, string][] = [
      [{ keys: [] }, 'the key set is empty ({"keys": []}): no token could be verified'],
      [
        { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1' }] },
        'keys[0] (kid "k1"): has private key members (d); a JWKS must hold public keys only',
      ],
    ];
    for (const [set, message] of cases) {
      const file = path.join(dir, 'bad-jwks.json');
      writeFileSync(file, JSON.stringify(set));
      const config = writeConfig('bad', {
        tokens: { issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: file }] },
      });
      const run = spawnSync(process.execPath, [CLI, 'serve', '--config', config], {
        encoding: 'utf8',
        timeout: 100_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`JWKS file ${file}: ${message}`);
    }
  });
});

describe('a sidecar whose revocation feed never answers', () => {
  it('is not ready without a persisted list, says why, and its feed lag grows from start-up', async () => {
    sidecar = await startSidecar({
      tokens: { issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: issuer.jwksFile }] },
      revocation: { url: `${feed.url}/v1/revocations`, requestTimeoutMs: 60_000 },
    });
    expect(await readinessOf(sidecar.info)).toEqual(NOT_READY);
    expect(logLines(sidecar).find((l) => l.msg === 'authzd listening; not ready yet')?.problems).toEqual([
      'the revocation feed has not answered yet and no revocation list is persisted (set revocation.cacheDir or bundle.cacheDir)',
    ]);
    await until('the feed to be asked', () => (feed.total() > 0 ? true : undefined));
    const lag = async () => metricSum(await metricsOf(sidecar!), 'authzd_revocation_feed_lag_seconds');
    const first = await lag();
    expect(first).toBeGreaterThan(0);
    await until('the lag to grow', async () => ((await lag()) >= first + 1 ? true : undefined));
    expect(existsSync(path.join(dir, 'revocations.json'))).toBe(false);
  });
});
