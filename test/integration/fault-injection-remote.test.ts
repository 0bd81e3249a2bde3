// Fault injection on the remote decision tier: a fake `POST /v1/authorize` that accepts connections and
// never answers. The sidecar must answer within the class's budget (plus scheduling slack), open its
// circuit after remote.failureThreshold failures (the fake then stops seeing calls), apply each class's
// failure mode (closed: 503 remote_unavailable; open: the local decision), and after the cooldown let one
// probe through, not a burst.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { faults, type FaultServer, metricSum, startFaultServer } from '../helpers/fault-server.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { EXAMPLE_POLICIES } from '../helpers/policy-files.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { sleep } from '../helpers/until.js';

const BUDGET_MS = 250;
const THRESHOLD = 3;
const COOLDOWN_MS = 1_000;
/** Loose: the answer must come from the budget expiring, not from the fake (which never answers). */
const MARGIN_MS = 1_500;

let issuer: TestIssuer;
let remote: FaultServer;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
const seen: Record<string, unknown> = {};
let subjects = 0;

/** A high-risk transfer (remote, fails closed) by a new principal each time, so no two calls coalesce. */
async function transfer() {
  const token = await issuer.sign({
    sub: `alice-${++subjects}`,
    scope: 'payments:write',
    acr: 'mfa',
    auth_time: Math.floor(Date.now() / 1000),
  });
  return timed(token, 'POST', '/accounts/acc-1001/transfers');
}

/** A low-risk read (remote, fails open to the local decision). */
async function read() {
  return timed(await issuer.sign({ sub: 'alice' }), 'GET', '/accounts/acc-1001');
}

async function timed(token: string, method: string, p: string) {
  const started = Date.now();
  const res = await sidecar.client.check(httpCheckRequest({ method, path: p, token }));
  const meta = Object.fromEntries(
    Object.entries<any>(res.dynamic_metadata?.fields ?? {}).map(([k, v]) => [k, v.stringValue]),
  );
  return {
    ms: Date.now() - started,
    allowed: res.http_response === 'ok_response',
    status: res.denied_response?.status?.code as string | undefined,
    reason: meta.reason as string,
  };
}

const calls = () => remote.requests.get('/v1/authorize') ?? 0;
const remoteMetric = async (result: string, failureMode: string) =>
  metricSum(await sidecar.metricsText(), 'authzd_remote_decisions_total', { result, failure_mode: failureMode });

beforeAll(async () => {
  issuer = await createTestIssuer();
  remote = await startFaultServer(faults.hang());
  const policies = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-fault-remote-')), 'policies');
  cpSync(EXAMPLE_POLICIES, policies, { recursive: true });
  const routes = readFileSync(path.join(policies, 'routes.yaml'), 'utf8').replace(
    /\nriskClasses:[\s\S]*?\nroutes:/,
    `\nriskClasses:\n  low: { remote: true, failureMode: open, budgetMs: ${BUDGET_MS} }\n  high: { remote: true, budgetMs: ${BUDGET_MS} }\nroutes:`,
  );
  writeFileSync(path.join(policies, 'routes.yaml'), routes);
  sidecar = await startTestAuthzd(issuer, {
    policies: { directory: policies },
    remote: {
      url: `${remote.url}/v1/authorize`,
      failureThreshold: THRESHOLD,
      cooldownMs: COOLDOWN_MS,
      askWhenResourceUnknown: false,
    },
  });
});

afterAll(async () => {
  console.log(`remote faults: ${JSON.stringify(seen)}`);
  await sidecar?.stop();
  await remote?.close();
});

describe('a remote tier that never answers', () => {
  it('a closed class answers 503 remote_unavailable once its budget is spent', async () => {
    const answers = [];
    for (let i = 0; i < THRESHOLD; i++) answers.push(await transfer());
    seen.budgetedAnswersMs = answers.map((a) => a.ms);
    for (const a of answers) {
      expect(a).toMatchObject({ allowed: false, status: 'ServiceUnavailable', reason: 'remote_unavailable' });
      expect(a.ms).toBeLessThan(BUDGET_MS + MARGIN_MS);
    }
    expect(calls()).toBe(THRESHOLD);
    expect(await remoteMetric('timeout', 'closed')).toBe(THRESHOLD);
  });

  it('then the circuit is open: calls fail fast and the remote sees none of them', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => transfer()));
    expect(answers.every((a) => a.reason === 'remote_unavailable')).toBe(true);
    expect(calls()).toBe(THRESHOLD);
    expect(await remoteMetric('circuit_open', 'closed')).toBe(20);
    seen.openCircuitMaxMs = Math.max(...answers.map((a) => a.ms));
  });

  it('an open class falls back to the local decision meanwhile', async () => {
    const a = await read();
    expect(a).toMatchObject({ allowed: true, reason: 'policy_allowed' });
    expect(calls()).toBe(THRESHOLD);
    expect(await remoteMetric('circuit_open', 'open')).toBeGreaterThanOrEqual(1);
  });

  it('after the cooldown, a burst lets one probe through; its failure re-opens the circuit', async () => {
    await sleep(COOLDOWN_MS + 100);
    const burst = await Promise.all(Array.from({ length: 10 }, () => transfer()));
    seen.halfOpenBurst = burst.length;
    seen.halfOpenProbes = calls() - THRESHOLD;
    expect(burst.every((a) => a.reason === 'remote_unavailable')).toBe(true);
    expect(calls()).toBe(THRESHOLD + 1);
    const after = await Promise.all(Array.from({ length: 5 }, () => transfer()));
    expect(after.every((a) => a.reason === 'remote_unavailable')).toBe(true);
    expect(calls()).toBe(THRESHOLD + 1);
    seen.remoteCallsInAll = calls();
    seen.checksInAll = subjects + 1;
  });
});
