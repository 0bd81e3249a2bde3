// Each Check carries a deadline: Envoy's (its ext_authz `timeout`, sent as grpc-timeout), else
// checks.defaultDeadlineMs. Nothing done on a call's behalf outlives it. Real `authzd serve` processes: one
// whose issuer's key set never answers (jwksTimeoutMs far beyond the deadline), one whose remote tier never
// answers (the class budget far beyond the deadline). Envoy gives up at its deadline either way; what is
// checked is what authzd does: it stops waiting at the deadline, says so (deadline_exceeded, audit, metrics),
// cuts the remote tier's budget to what is left, and counts the late answers.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { faults, type FaultServer, metricSum, startFaultServer } from '../helpers/fault-server.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { EXAMPLE_POLICIES } from '../helpers/policy-files.js';
import { type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const DEADLINE_MS = 300;
// Far beyond the deadline: a call that waited for these would be recorded a minute later, not within the 30 s allowed.
const FAR_MS = 60_000;
let dir: string;
let issuer: TestIssuer;
let hanging: FaultServer;
const running: RunningCli<{ grpcPort: number; adminPort: number }>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-deadlines-'));
  issuer = await createTestIssuer();
  hanging = await startFaultServer(faults.hang());
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await hanging.close();
});

async function sidecar(config: string) {
  const file = path.join(dir, `sidecar-${running.length}.yaml`);
  writeFileSync(
    file,
    `grpc: { address: "127.0.0.1:0" }\nadmin: { address: "127.0.0.1:0" }\naudit: { destination: ${JSON.stringify(path.join(dir, `audit-${running.length}.log`))} }\n${config}`,
  );
  // A sidecar whose key set never comes is not ready (readiness tells the truth), but it listens.
  const listening = (l: Record<string, unknown>) =>
    typeof l.grpcPort === 'number' && (l.msg === 'authzd ready' || l.msg === 'authzd listening; not ready yet');
  const s = await spawnCli(['serve', '--config', file], (l) =>
    listening(l) ? { grpcPort: l.grpcPort as number, adminPort: l.adminPort as number } : undefined,
  );
  running.push(s);
  return s;
}

const metrics = async (s: RunningCli<{ adminPort: number }>) =>
  (await fetch(`http://127.0.0.1:${s.info.adminPort}/metrics`)).text();

async function checkWithDeadline(s: RunningCli<{ grpcPort: number }>, request: Record<string, unknown>) {
  const client = envoyAuthorizationClient(`127.0.0.1:${s.info.grpcPort}`);
  try {
    await client.check(request, { deadlineMs: DEADLINE_MS });
    return 'answered in time';
  } catch (err) {
    return (err as { code: number }).code;
  } finally {
    client.close();
  }
}

describe('a check waiting for a key set that never comes', () => {
  it('ends at the deadline as deadline_exceeded, not at jwksTimeoutMs as jwks_unavailable, and is counted', async () => {
    const s = await sidecar(`tokens:
  issuers:
    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksUrl: "${hanging.url}/jwks.json", jwksTimeoutMs: ${FAR_MS} }
`);
    const token = await issuer.sign({ sub: 'alice' });
    // The client (Envoy) gives up at its deadline: DEADLINE_EXCEEDED (4) whatever authzd does.
    expect(await checkWithDeadline(s, httpCheckRequest({ path: '/accounts/acc-1001', token }))).toBe(4);
    // authzd stopped waiting too: the call is recorded as deadline_exceeded long before the key-set timeout.
    const text = await until(
      'the call to be recorded',
      async () => {
        const t = await metrics(s);
        return metricSum(t, 'authzd_decisions_total', { reason: 'deadline_exceeded' }) === 1 ? t : undefined;
      },
      FAR_MS / 2,
    );
    expect(metricSum(text, 'authzd_decisions_total', { reason: 'jwks_unavailable' })).toBe(0);
    expect(metricSum(text, 'authzd_checks_late_total', { decision: 'error' })).toBe(1);
  });
});

describe('a check whose class asks a remote tier that never answers', () => {
  it("gives the remote tier only what is left of the call's deadline, not the class budget", async () => {
    const policies = path.join(dir, 'policies');
    cpSync(EXAMPLE_POLICIES, policies, { recursive: true, filter: (src) => path.basename(src) !== 'tests' });
    const routes = path.join(policies, 'routes.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(
      routes,
      readFileSync(routes, 'utf8').replace(
        /  high:\n    remote: false\n    budgetMs: 50/,
        `  high:\n    remote: true\n    budgetMs: ${FAR_MS}`,
      ),
    );
    const s = await sidecar(`policies: { directory: ${JSON.stringify(policies)} }
tokens:
  issuers:
    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksFile: ${JSON.stringify(issuer.jwksFile)} }
remote: { url: "${hanging.url}/v1/authorize" }
`);
    const token = await issuer.sign({
      sub: 'alice',
      scope: 'payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    expect(
      await checkWithDeadline(s, httpCheckRequest({ method: 'POST', path: '/accounts/acc-1001/transfers', token })),
    ).toBe(4);
    // The remote call was cut at the deadline: the class (closed) denied remote_unavailable then, late.
    const text = await until(
      'the call to be recorded',
      async () => {
        const t = await metrics(s);
        return metricSum(t, 'authzd_decisions_total', { reason: 'remote_unavailable' }) === 1 ? t : undefined;
      },
      FAR_MS / 2,
    );
    expect(metricSum(text, 'authzd_remote_decisions_total', { result: 'timeout' })).toBe(1);
    expect(metricSum(text, 'authzd_checks_late_total', {})).toBe(1);
  });
});
