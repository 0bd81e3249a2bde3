// Hybrid decisions by risk class with real processes on loopback: a control plane as the remote tier, a
// sidecar using it (with assertions and a shadow policy set), and a second sidecar whose remote tier is too
// slow for its budgets. Each behaviour of docs/risk-tiers.md is exercised over gRPC with Envoy's protos.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';

const ADMIN = 'risk-admin-token-0123456789abcdef';
let dir: string;
let issuer: TestIssuer;
let cp: RunningCli<{ base: string }>;
let sidecar: RunningCli<{ grpcPort: number; adminPort: number }>;
let slowSidecar: RunningCli<{ grpcPort: number; adminPort: number }>;
let slowRemote: http.Server;

const RISK_CLASSES = `
riskClasses:
  low: { remote: true, failureMode: open, budgetMs: 1000 }
  high: { remote: true, budgetMs: 1000 }
  critical:
    rateLimit:
      perPrincipal: { rps: 0.01, burst: 2 }
`;

function policyDir(name: string, extra: Record<string, string> = {}): string {
  const target = path.join(dir, name);
  cpSync(path.join(ROOT, 'policies'), target, { recursive: true });
  const routes = readFileSync(path.join(target, 'routes.yaml'), 'utf8').replace(
    /\nriskClasses:[\s\S]*?\nroutes:/,
    `${RISK_CLASSES}\nroutes:`,
  );
  writeFileSync(path.join(target, 'routes.yaml'), routes);
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(target, file), text);
  return target;
}

function startSidecar(config: string) {
  const file = path.join(dir, `sidecar-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  return spawnCli(['serve', '--config', file], (l) =>
    l.msg === 'authzd ready' ? { grpcPort: l.grpcPort as number, adminPort: l.adminPort as number } : undefined,
  );
}

const sidecarConfig = (policies: string, remoteUrl: string, extra = '') => `
grpc: { address: "127.0.0.1:0" }
admin: { address: "127.0.0.1:0" }
policies: { directory: ${JSON.stringify(policies)} }
tokens:
  issuers:
    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksFile: ${JSON.stringify(issuer.jwksFile)} }
remote: { url: ${JSON.stringify(remoteUrl)}, failureThreshold: 100 }
${extra}
`;

async function check(target: RunningCli<{ grpcPort: number }>, opts: Parameters<typeof httpCheckRequest>[0]) {
  const client = envoyAuthorizationClient(`127.0.0.1:${target.info.grpcPort}`);
  try {
    const res = await client.check(httpCheckRequest(opts));
    const meta = Object.fromEntries(
      Object.entries<any>(res.dynamic_metadata?.fields ?? {}).map(([k, v]) => [k, v.stringValue]),
    );
    const headers = Object.fromEntries(
      ((res.ok_response ?? res.denied_response)?.headers ?? []).map((h: any) => [h.header.key, h.header.value]),
    );
    return {
      allowed: res.http_response === 'ok_response',
      status: res.denied_response?.status?.code,
      reason: meta.reason as string,
      version: meta.policy_version as string,
      headers,
    };
  } finally {
    client.close();
  }
}

const metrics = async (target: RunningCli<{ adminPort: number }>) =>
  (await fetch(`http://127.0.0.1:${target.info.adminPort}/metrics`)).text();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-risk-'));
  issuer = await createTestIssuer();
  const active = policyDir('active');
  const shadow = policyDir('shadow', {
    'shadow.cedar':
      '@id("shadow-no-tellers") forbid(principal in Bank::Role::"teller", action == Bank::Action::"readAccount", resource);\n',
  });
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'cp' });
  cp = await spawnCli(
    [
      'control-plane',
      '--policies',
      active,
      '--signing-key',
      keys.privateKeyFile,
      '--kid',
      'cp',
      '--addr',
      '127.0.0.1:0',
      '--data',
      path.join(dir, 'cp-data'),
    ],
    (l) => (l.msg === 'control plane ready' ? { base: `http://127.0.0.1:${l.port as number}` } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );
  sidecar = await startSidecar(
    sidecarConfig(
      active,
      `${cp.info.base}/v1/authorize`,
      `assertions: { enabled: true, audience: core-banking, actor: "spiffe://cluster.local/ns/bank/sa/frontend", ttlSeconds: 60 }
shadow: { policies: ${JSON.stringify(shadow)} }`,
    ),
  );
  // A remote tier that answers, but only after two seconds: slower than any budget above.
  slowRemote = http.createServer((_req, res) => setTimeout(() => res.writeHead(500).end(), 2_000));
  await new Promise<void>((r) => slowRemote.listen(0, '127.0.0.1', r));
  const slow = policyDir('slow');
  const routes = readFileSync(path.join(slow, 'routes.yaml'), 'utf8').replace(/budgetMs: 1000/g, 'budgetMs: 100');
  writeFileSync(path.join(slow, 'routes.yaml'), routes);
  slowSidecar = await startSidecar(
    sidecarConfig(slow, `http://127.0.0.1:${(slowRemote.address() as AddressInfo).port}/v1/authorize`),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all([sidecar?.stop(), slowSidecar?.stop(), cp?.stop()]);
  slowRemote?.close();
});

describe('risk tiers', () => {
  it('a high-risk route is decided by the remote tier (its policy version, source remote)', async () => {
    const token = await issuer.sign({
      sub: 'alice',
      scope: 'payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    const d = await check(sidecar, { method: 'POST', path: '/accounts/acc-1001/transfers', token });
    expect(d).toMatchObject({ allowed: true, reason: 'policy_allowed' });
    expect(d.version).toMatch(/^\d+-[0-9a-f]{16}$/); // the control plane's version, not the local content hash
    expect(await metrics(sidecar)).toMatch(/authzd_remote_decisions_total\{result="ok",failure_mode=""\} [1-9]/);
  });

  it('a step-up forbid yields the RFC 9470 challenge; the same request after an MFA login is allowed', async () => {
    const weak = await issuer.sign({ sub: 'erin', tenant: 'globex', scope: 'payments:write' });
    const denied = await check(sidecar, { method: 'POST', path: '/accounts/acc-2001/transfers', token: weak });
    expect(denied).toMatchObject({ allowed: false, status: 'Unauthorized', reason: 'step_up_required' });
    expect(denied.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa", max_age=3600',
    );
    const strong = await issuer.sign({
      sub: 'erin',
      tenant: 'globex',
      scope: 'payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    expect(await check(sidecar, { method: 'POST', path: '/accounts/acc-2001/transfers', token: strong })).toMatchObject(
      { allowed: true },
    );
  });

  it('the rate limit of a class answers 429 with Retry-After and RateLimit headers', async () => {
    const token = await issuer.sign({ sub: 'carol', roles: ['admin'] });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await check(sidecar, { path: '/tenants/acme/customers/export', token }));
    expect(results.slice(0, 2).every((r) => r.allowed)).toBe(true);
    expect(results[2]).toMatchObject({ allowed: false, status: 'TooManyRequests', reason: 'rate_limited' });
    expect(Number(results[2].headers['retry-after'])).toBeGreaterThan(0);
    expect(results[2].headers['ratelimit-policy']).toBe('"principal";q=2;w=200');
    expect(results[2].headers.ratelimit).toMatch(/^"principal";r=0;t=\d+$/);
    expect(await metrics(sidecar)).toMatch(/authzd_rate_limited_total\{scope="principal",risk="critical"\} 1/);
  });

  it('a SPIFFE peer without a token is decided as a workload', async () => {
    const ledger = await check(sidecar, {
      path: '/accounts/acc-1001',
      sourcePrincipal: 'spiffe://cluster.local/ns/bank/sa/ledger',
    });
    expect(ledger).toMatchObject({ allowed: true });
    const other = await check(sidecar, {
      path: '/accounts/acc-1001',
      sourcePrincipal: 'spiffe://cluster.local/ns/bank/sa/frontend',
    });
    expect(other).toMatchObject({ allowed: false, reason: 'no_matching_permit' });
    expect(await check(sidecar, { path: '/accounts/acc-1001' })).toMatchObject({
      allowed: false,
      reason: 'token_missing',
    });
    // Routes that do not allow workloads still want a user token.
    expect(
      await check(sidecar, {
        method: 'POST',
        path: '/accounts/acc-1001/transfers',
        sourcePrincipal: 'spiffe://cluster.local/ns/bank/sa/ledger',
      }),
    ).toMatchObject({ reason: 'token_missing' });
  });

  it('a downstream service verifies the decision assertion with the published JWKS', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const d = await check(sidecar, { path: '/accounts/acc-1001', token });
    const assertion = d.headers['x-authz-assertion'];
    expect(assertion).toBeDefined();
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${sidecar.info.adminPort}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(assertion, jwks, {
      issuer: 'authzd',
      audience: 'core-banking',
      typ: 'authzd-assertion+jwt',
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({
      sub: 'alice',
      act: { sub: 'spiffe://cluster.local/ns/bank/sa/frontend' },
      decision_id: d.headers['x-authz-decision-id'],
      route: 'get-account',
      tenant: 'acme',
    });
    expect(payload.exp! - payload.iat!).toBe(60);
    // A tampered assertion does not verify.
    const [h, p, s] = assertion!.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'mallory' })).toString('base64url')}.${s}`;
    await expect(jwtVerify(forged, jwks, { issuer: 'authzd', audience: 'core-banking' })).rejects.toThrow();
    expect(p).toBeDefined();
  });

  it("a shadow revision's disagreements show in metrics and logs, without changing the answer", async () => {
    expect(
      await check(sidecar, {
        path: '/accounts/acc-1001',
        token: await issuer.sign({ sub: 'alice', jti: 'shadow-agree' }),
      }),
    ).toMatchObject({ allowed: true });
    const token = await issuer.sign({ sub: 'bob', roles: ['teller'] });
    expect(await check(sidecar, { path: '/accounts/acc-1001', token })).toMatchObject({ allowed: true });
    const deadline = Date.now() + 5_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await metrics(sidecar);
      if (
        /authzd_shadow_disagreements_total\{route="get-account",active_reason="policy_allowed",shadow_reason="policy_denied"\} [1-9]/.test(
          text,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toMatch(
      /authzd_shadow_disagreements_total\{route="get-account",active_reason="policy_allowed",shadow_reason="policy_denied"\} [1-9]/,
    );
    expect(text).toMatch(/authzd_shadow_evaluations_total\{result="agree"\} [1-9]/);
    const line = sidecar
      .stderr()
      .split('\n')
      .find((l) => l.includes('shadow policy disagrees') && l.includes('get-account'));
    expect(JSON.parse(line!)).toMatchObject({
      route: 'get-account',
      active: { decision: 'allow' },
      shadow: { decision: 'deny', policies: ['shadow-no-tellers'] },
    });
  });

  it('a remote call slower than the budget falls back: closed denies, open uses the local decision', async () => {
    const transfer = await check(slowSidecar, {
      method: 'POST',
      path: '/accounts/acc-1001/transfers',
      token: await issuer.sign({
        sub: 'alice',
        scope: 'payments:write',
        acr: 'mfa',
        auth_time: Math.floor(Date.now() / 1000),
      }),
    });
    expect(transfer).toMatchObject({ allowed: false, status: 'ServiceUnavailable', reason: 'remote_unavailable' });
    const read = await check(slowSidecar, { path: '/accounts/acc-1001', token: await issuer.sign({ sub: 'alice' }) });
    expect(read).toMatchObject({ allowed: true, reason: 'policy_allowed' });
    const text = await metrics(slowSidecar);
    expect(text).toMatch(/authzd_remote_decisions_total\{result="timeout",failure_mode="closed"\} [1-9]/);
    expect(text).toMatch(/authzd_remote_decisions_total\{result="timeout",failure_mode="open"\} [1-9]/);
  });

  it('with the control plane down, the high-risk route fails closed while the open low-risk read passes', async () => {
    expect(await cp.stop()).toBe(0);
    const transfer = await check(sidecar, {
      method: 'POST',
      path: '/accounts/acc-1001/transfers',
      token: await issuer.sign({
        sub: 'alice',
        scope: 'payments:write',
        acr: 'mfa',
        auth_time: Math.floor(Date.now() / 1000),
      }),
    });
    expect(transfer).toMatchObject({ allowed: false, reason: 'remote_unavailable' });
    const read = await check(sidecar, {
      path: '/accounts/acc-1001',
      token: await issuer.sign({ sub: 'alice', jti: 'fresh' }),
    });
    expect(read).toMatchObject({ allowed: true });
  });
});
