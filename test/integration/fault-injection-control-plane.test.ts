// Fault injection between a sidecar and its control plane. A real `authzd control-plane` process sits
// behind a fault proxy (test/helpers/fault-server.ts) that either forwards or breaks the bundle and
// revocation endpoints one way after another: down, hanging, garbage bytes, HTML error pages, an empty
// 200, a truncated body, a bundle signed by a stranger. The in-process sidecar must keep serving its active
// revision and its known revocations, count each failure by stage and reason, back off (the proxy counts
// what it is asked), and pick up the control plane's news once it is reachable again.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../src/bundle/build-bundle.js';
import { generateSigningKeys, readSigningKey } from '../../src/bundle/bundle-keys.js';
import { faults, type FaultServer, type Handler, metricSum, startFaultServer } from '../helpers/fault-server.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { examplePolicyFiles } from '../helpers/policy-files.js';
import { ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { sleep, until } from '../helpers/until.js';

const ADMIN = 'fault-admin-token-0123456789abcdef';
/** How long each fault is left in place. */
const WINDOW_MS = 1_000;
const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 400;
/**
 * Most requests a follower with jittered exponential backoff (each delay at least half its ceiling) can make
 * in one window, counting the one that opens it and starting from no failures: the ramp's first four delays
 * take at least 25+50+100+200 ms, every later one at least MAX_BACKOFF_MS / 2. (Without the backoff growing,
 * a follower retries every 25-50 ms: some 20 requests a window.)
 */
const BACKOFF_BOUND = 1 + 4 + Math.ceil((WINDOW_MS - 375) / (MAX_BACKOFF_MS / 2));

let dir: string;
let policies: string;
let issuer: TestIssuer;
let cp: RunningCli<{ base: string }>;
let proxy: FaultServer;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
let bundleFault: Handler | undefined;
let revocationFault: Handler | undefined;
/** The revision the sidecar first took (the control plane's first publication). */
let first: string;
const seen: Record<string, unknown> = {};

/** Forwards to the real control plane (long polls included). */
const forward: Handler = (req, res, body) => {
  const upstream = http.request(`${cp.info.base}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  res.once('close', () => upstream.destroy());
  upstream.end(body);
};

async function decide(token: string) {
  const response = await sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
  const meta = Object.fromEntries(
    Object.entries<any>(response.dynamic_metadata.fields).map(([k, v]) => [k, v.stringValue]),
  );
  return {
    allowed: response.http_response === 'ok_response',
    reason: meta.reason as string,
    version: meta.policy_version as string,
  };
}

const bundleRequests = () => proxy.requests.get('/v1/bundles/default') ?? 0;
const revocationRequests = () => proxy.requests.get('/v1/revocations') ?? 0;

async function revoke(jti: string) {
  const res = await fetch(`${cp.info.base}/v1/revocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'jti', value: jti, ttlSeconds: 3600 }),
  });
  expect(res.status).toBe(201);
}

/**
 * Checks that run all along a fault, one every 20 ms: each must be answered by the active revision. Returns
 * a function that stops them and yields what they saw.
 */
function keepChecking(token: string, expected: { allowed: boolean; reason: string; version: string }) {
  let running = true;
  const wrong: unknown[] = [];
  let answered = 0;
  const loop = (async () => {
    while (running) {
      const d = await decide(token).catch((err: Error) => ({ error: err.message }));
      answered++;
      if (JSON.stringify(d) !== JSON.stringify(expected)) wrong.push(d);
      await sleep(20);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { answered, wrong };
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-fault-cp-'));
  policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true, filter: (src) => path.basename(src) !== 'tests' });
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'cp-fault' });
  issuer = await createTestIssuer();
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
    ],
    (l) => (l.msg === 'control plane ready' ? { base: `http://127.0.0.1:${l.port as number}` } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );
  proxy = await startFaultServer((req, res, body) => {
    const fault = req.url?.startsWith('/v1/revocations') ? revocationFault : bundleFault;
    (fault ?? forward)(req, res, body);
  });
  const follow = {
    pollWaitSeconds: 1,
    pollIntervalSeconds: 1,
    requestTimeoutMs: 300,
    minBackoffMs: MIN_BACKOFF_MS,
    maxBackoffMs: MAX_BACKOFF_MS,
  };
  sidecar = await startTestAuthzd(issuer, {
    bundle: {
      url: `${proxy.url}/v1/bundles/default`,
      publicKeys: [{ file: keys.publicKeyFile, kid: keys.kid }],
      ...follow,
    },
    revocation: { url: `${proxy.url}/v1/revocations`, ...follow },
  });
  // The control plane numbers revisions by the clock; the first one is whatever it published at start.
  first = await until('the first revision', async () => sidecar.app.store.version, 30_000);
}, 60_000);

afterAll(async () => {
  console.log(`control-plane faults: ${JSON.stringify(seen)}`);
  await sidecar?.stop();
  await proxy?.close();
  await cp?.stop();
});

describe('the control plane fails', () => {
  let stranger: Uint8Array;
  const revokedJti = 'revoked-before-the-faults';
  let revoked: string;
  beforeAll(async () => {
    const other = await generateSigningKeys(path.join(dir, 'stranger'), { alg: 'EdDSA', kid: 'intruder' });
    const { key, alg } = await readSigningKey(other.privateKeyFile);
    stranger = await buildBundle(examplePolicyFiles(), {
      signingKey: key,
      alg,
      kid: 'intruder',
      revision: 99,
      scope: 'authzd',
    });
    revoked = await issuer.sign({ sub: 'alice', jti: revokedJti });
    await revoke(revokedJti);
    await until('the revocation', async () => ((await decide(revoked)).reason === 'token_revoked' ? true : undefined));
  });

  // Each bundle fault, what the sidecar must count for it, and the most requests it may make in the window.
  const bundleCases: [string, () => Handler, { stage: string; reason: string }, number?][] = [
    ['down (connection reset)', () => faults.reset(), { stage: 'fetch', reason: 'network' }],
    ['hanging (held past the timeout)', () => faults.hang(), { stage: 'fetch', reason: 'timeout' }],
    [
      'non-gzip bytes',
      () => faults.bytes(200, 'this is not a gzip stream at all'),
      { stage: 'verify', reason: 'bundle_corrupt' },
    ],
    ['an HTML page with 200', () => faults.html(200), { stage: 'verify', reason: 'bundle_corrupt' }],
    ['an HTML error page (502)', () => faults.html(502), { stage: 'fetch', reason: 'http_status' }],
    ['200 with an empty body', () => faults.bytes(200, ''), { stage: 'verify', reason: 'bundle_corrupt' }],
    ['a truncated body', () => faults.truncated(4_000, 100), { stage: 'fetch', reason: 'network' }],
    [
      'a body declared larger than bundle.maxBytes',
      () => faults.truncated(64 * 1024 * 1024, 10),
      { stage: 'fetch', reason: 'too_large' },
    ],
    [
      'a bundle signed by an unknown key (with an ETag, like any server)',
      () => (req, res) => {
        const etag = '"intruder-99"';
        if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
        else res.writeHead(200, { etag, 'content-type': 'application/gzip' }).end(stranger);
      },
      { stage: 'verify', reason: 'bundle_key_unknown' },
      // Rejected once, then only asked with its ETag (not downloaded again) at the poll interval.
      2,
    ],
  ];
  const entry = (seq: number) => ({
    seq,
    kind: 'jti',
    value: `garbage-${seq}`,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    createdAt: Math.floor(Date.now() / 1000),
  });
  const json = (body: unknown): Handler =>
    faults.bytes(200, JSON.stringify(body), { 'content-type': 'application/json' });
  // Each revocation-feed fault and the poll result it must be counted as.
  const revocationCases: [string, () => Handler, string][] = [
    ['down (connection reset)', () => faults.reset(), 'network'],
    ['hanging (held past the timeout)', () => faults.hang(), 'timeout'],
    ['an HTML page with 200', () => faults.html(200), 'malformed'],
    ['an HTML error page (502)', () => faults.html(502), 'http_status'],
    ['200 with an empty body', () => faults.bytes(200, ''), 'malformed'],
    ['a truncated body', () => faults.truncated(4_000, 100), 'network'],
    ['a page of the wrong shape', () => json({ seq: 'many', reset: false, entries: [] }), 'malformed'],
    [
      'a page with entries out of order',
      () => json({ seq: 1_000_000, reset: false, entries: [entry(5), entry(3)] }),
      'malformed',
    ],
    ['a page with an entry beyond its seq', () => json({ seq: 2, reset: true, entries: [entry(7)] }), 'malformed'],
  ];
  // The two endpoints fail at the same time, each its own way (it halves the test's wall time).
  const steps = bundleCases.map(
    (b, i) => [`bundles: ${b[0]}; revocations: ${revocationCases[i][0]}`, b, revocationCases[i]] as const,
  );

  /** Applies a fault and measures the requests it sees in one window, opened by the first faulted request. */
  async function window(count: () => number, apply: () => void): Promise<number> {
    const before = count();
    apply();
    // A long poll in flight when the fault starts still ends normally.
    await until('a request to meet the fault', () => (count() > before ? true : undefined));
    const opened = count();
    await sleep(WINDOW_MS);
    return count() - opened + 1;
  }

  it.each(steps)(
    '%s: the active revision and revocations stay, failures are counted, requests back off',
    async (_name, bundleCase, revocationCase) => {
      const [bundleName, bundleFaultOf, counted, bound = BACKOFF_BOUND] = bundleCase;
      const [revocationName, revocationFaultOf, pollResult] = revocationCase;
      const text = await sidecar.metricsText();
      const failuresBefore = metricSum(text, 'authzd_bundle_failures_total', counted);
      const pollsBefore = metricSum(text, 'authzd_revocation_polls_total', { result: pollResult });
      const allowedChecks = keepChecking(await issuer.sign({ sub: 'alice' }), {
        allowed: true,
        reason: 'policy_allowed',
        version: first,
      });
      const revokedChecks = keepChecking(revoked, { allowed: false, reason: 'token_revoked', version: first });
      const [bundleRequestsSeen, revocationRequestsSeen] = await Promise.all([
        window(bundleRequests, () => (bundleFault = bundleFaultOf())),
        window(revocationRequests, () => (revocationFault = revocationFaultOf())),
      ]);
      await until(`a ${counted.stage}/${counted.reason} bundle failure and a ${pollResult} poll`, async () => {
        const now = await sidecar.metricsText();
        return metricSum(now, 'authzd_bundle_failures_total', counted) > failuresBefore &&
          metricSum(now, 'authzd_revocation_polls_total', { result: pollResult }) > pollsBefore
          ? true
          : undefined;
      });
      const allowed = await allowedChecks();
      const denied = await revokedChecks();
      seen.steps ??= [];
      (seen.steps as unknown[]).push({
        bundle: bundleName,
        bundleRequests: bundleRequestsSeen,
        revocations: revocationName,
        revocationRequests: revocationRequestsSeen,
        checks: allowed.answered + denied.answered,
      });
      expect(allowed.wrong).toEqual([]);
      expect(denied.wrong).toEqual([]);
      expect(allowed.answered).toBeGreaterThan(5);
      expect(bundleRequestsSeen).toBeLessThanOrEqual(bound);
      expect(revocationRequestsSeen).toBeLessThanOrEqual(BACKOFF_BOUND);
      expect(sidecar.app.store.version).toBe(first);
      expect((await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/readyz`)).status).toBe(200);
      // Nothing from a refused page was applied: only the real revocation is held.
      expect(sidecar.app.revocations.size).toBe(1);
      expect(await decide(await issuer.sign({ sub: 'alice', jti: 'garbage-7' }))).toMatchObject({ allowed: true });
    },
  );

  it('recovers when the control plane comes back: the next revision is activated', async () => {
    writeFileSync(
      path.join(policies, 'maintenance.cedar'),
      '@id("maintenance") forbid(principal, action == Bank::Action::"readAccount", resource);\n',
    );
    // The control plane publishes a second revision on its own (it watches the directory); the sidecar cannot see it yet.
    const second = await until('the control plane to publish a second revision', async () => {
      const revision = (await fetch(`${cp.info.base}/v1/bundles/default`)).headers.get('x-authzd-revision');
      return revision !== null && revision !== first ? revision : undefined;
    });
    expect(Number(second)).toBeGreaterThan(Number(first));
    expect(sidecar.app.store.version).toBe(first);
    const started = Date.now();
    bundleFault = undefined;
    await until('the second revision', () => (sidecar.app.store.version === second ? true : undefined));
    seen.bundleRecoveryMs = Date.now() - started;
    expect(await decide(await issuer.sign({ sub: 'alice' }))).toEqual({
      allowed: false,
      reason: 'policy_denied',
      version: second,
    });
    writeFileSync(path.join(policies, 'maintenance.cedar'), '// maintenance over\n');
    await until('a third revision', () => (Number(sidecar.app.store.version) > Number(second) ? true : undefined));
  });

  it('recovers when the feed comes back: a new revocation applies, the old one still holds', async () => {
    revocationFault = undefined;
    const fresh = await issuer.sign({ sub: 'alice', jti: 'revoked-after-the-faults' });
    expect(await decide(fresh)).toMatchObject({ allowed: true });
    const started = Date.now();
    await revoke('revoked-after-the-faults');
    await until('the new revocation', async () =>
      (await decide(fresh)).reason === 'token_revoked' ? true : undefined,
    );
    seen.revocationRecoveryMs = Date.now() - started;
    expect(await decide(revoked)).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(sidecar.app.revocations.size).toBe(2);
  });
});
