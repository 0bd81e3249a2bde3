import { beforeAll, describe, expect, it } from 'vitest';

import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import type { ConfigInput } from '../../../src/config/config-schema.js';
import type { Decision } from '../../../src/contract/decision.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { createTestIssuer, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { httpCheckRequest } from '../../helpers/test-authzd.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

function pipeline(changes: Record<string, string | null> = {}, overrides: ConfigInput = {}, activate = true) {
  const config = testConfig(issuer, overrides);
  const engine = new CedarWasmEngine({ validateRequests: config.policies.validateRequests });
  const store = new PolicyStore(engine);
  if (activate) store.activate(compilePolicyModel(examplePolicyFiles(changes)));
  const verifier = new TokenVerifier(config.tokens, { now: Date.now });
  let n = 0;
  return new CheckPipeline({ config, store, engine, verifier, now: Date.now, newId: () => `id-${++n}` });
}

async function decide(p: CheckPipeline, request: Record<string, unknown>): Promise<Decision> {
  const outcome = await p.check(request);
  if (outcome.kind !== 'decision') throw new Error(`expected a decision, got ${JSON.stringify(outcome)}`);
  return outcome.decision;
}

describe('CheckPipeline', () => {
  it('answers policy_unavailable (a gRPC error, not a deny) before any policy set is active', async () => {
    const outcome = await pipeline({}, {}, false).check(httpCheckRequest({ path: '/accounts/acc-1001' }));
    expect(outcome).toMatchObject({ kind: 'error', failure: { reason: 'policy_unavailable', id: 'id-1' } });
  });

  it('denies when a policy errors, even though Cedar skipped it and allowed (onError: deny)', async () => {
    // This forbid reads an attribute the principal lacks: Cedar skips it and the permit wins.
    const broken = {
      'schema.cedarschema': null,
      'broken.cedar': '@id("broken-forbid") forbid(principal, action, resource) when { principal.nosuch == 1 };',
    };
    const token = await issuer.sign({ sub: 'alice' });
    const d = await decide(pipeline(broken), httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(d).toMatchObject({ allowed: false, reason: 'policy_error', policies: ['broken-forbid'] });
    expect(d.detail).toContain('broken-forbid');
    const ignoring = await decide(
      pipeline(broken, { policies: { onError: 'ignore' } }),
      httpCheckRequest({ path: '/accounts/acc-1001', token }),
    );
    expect(ignoring).toMatchObject({ allowed: true, reason: 'policy_allowed', policies: ['account-owner-read'] });
  });

  it('denies schema_mismatch when the token cannot make a principal the schema accepts', async () => {
    // The schema requires User.tenant; this token has no tenant claim and the user is not in entities.json.
    const token = await issuer.sign({ sub: 'zed', tenant: undefined });
    const d = await decide(pipeline(), httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(d).toMatchObject({ allowed: false, reason: 'schema_mismatch', source: 'engine' });
    expect(d.detail).toContain('tenant');
  });

  it('lets stored entity attributes win over token claims (claims are hints)', async () => {
    const entities = JSON.parse(examplePolicyFiles().get('entities.json')!);
    entities.push({ uid: { type: 'Bank::User', id: 'bob' }, attrs: { tenant: 'globex' }, parents: [] });
    const p = pipeline({ 'entities.json': JSON.stringify(entities) });
    // bob claims tenant acme and role teller; the store says globex, so tenant isolation applies.
    const token = await issuer.sign({ sub: 'bob', tenant: 'acme', roles: ['teller'] });
    const d = await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(d).toMatchObject({ allowed: false, reason: 'policy_denied', policies: ['tenant-isolation'] });
  });

  it('passes request facts to policies: source IP as ipaddr, method, route id', async () => {
    const onlyInternal = {
      'internal.cedar':
        '@id("internal-only") forbid(principal, action in [Bank::Action::"read", Bank::Action::"write"], resource) unless { context.request has sourceIp && context.request.sourceIp.isInRange(ip("10.0.0.0/8")) && context.request.routeId == "get-account" && context.request.method == "GET" };',
    };
    const token = await issuer.sign({ sub: 'alice' });
    const p = pipeline(onlyInternal);
    expect(
      await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token, sourceIp: '10.9.8.7' })),
    ).toMatchObject({ allowed: true });
    expect(
      await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token, sourceIp: '203.0.113.9' })),
    ).toMatchObject({
      allowed: false,
      policies: ['internal-only'],
    });
  });

  it('passes token facts: scope as a set, acr', async () => {
    const token = await issuer.sign({
      sub: 'alice',
      scope: 'accounts:read payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    const d = await decide(
      pipeline(),
      httpCheckRequest({ method: 'POST', path: '/accounts/acc-1001/transfers', token }),
    );
    expect(d).toMatchObject({ allowed: true, policies: ['owner-transfer'] });
    const noMfa = await issuer.sign({ sub: 'alice', scope: 'accounts:read payments:write' });
    expect(
      await decide(
        pipeline(),
        httpCheckRequest({ method: 'POST', path: '/accounts/acc-1001/transfers', token: noMfa }),
      ),
    ).toMatchObject({
      allowed: false,
      policies: ['transfer-requires-mfa'],
    });
  });

  it('copies declared context_extensions into context.extensions', async () => {
    const routes = examplePolicyFiles()
      .get('routes.yaml')!
      .replace('namespace: Bank', 'namespace: Bank\ncontextExtensions: [tier]');
    const p = pipeline({
      'schema.cedarschema': null,
      'routes.yaml': routes,
      'gold.cedar':
        '@id("gold-only") forbid(principal, action, resource) unless { context has extensions && context.extensions has tier && context.extensions.tier == "gold" };',
    });
    const token = await issuer.sign({ sub: 'alice' });
    const request: any = httpCheckRequest({ path: '/accounts/acc-1001', token });
    expect(await decide(p, request)).toMatchObject({ allowed: false, policies: ['gold-only'] });
    request.attributes.context_extensions = { tier: 'gold' };
    expect(await decide(p, request)).toMatchObject({ allowed: true });
  });

  it('denies request_invalid for a method that is not an HTTP token and a missing path', async () => {
    const token = await issuer.sign();
    const bad: any = httpCheckRequest({ path: '/accounts/acc-1001', token });
    bad.attributes.request.http.method = 'GE T';
    expect(await decide(pipeline(), bad)).toMatchObject({ reason: 'request_invalid', source: 'request' });
    const noPath: any = httpCheckRequest({ path: '', token });
    delete noPath.attributes.request.http.headers[':path'];
    expect(await decide(pipeline(), noPath)).toMatchObject({ reason: 'request_invalid' });
  });

  it('turns an exception inside a stage into internal_error', async () => {
    const p = pipeline();
    const hostile = {
      attributes: {
        request: {
          http: {
            method: 'GET',
            path: '/accounts/x',
            get headers() {
              throw new Error('boom');
            },
          },
        },
      },
    };
    const outcome = await p.check(hostile as never);
    expect(outcome).toMatchObject({ kind: 'error', failure: { reason: 'internal_error' } });
  });
});

describe('CheckPipeline with the decision cache', () => {
  async function cachedPipeline() {
    const { DecisionCache } = await import('../../../src/check/decision-cache.js');
    const config = testConfig(issuer);
    const engine = new CedarWasmEngine({ validateRequests: true });
    const store = new PolicyStore(engine);
    store.activate(compilePolicyModel(examplePolicyFiles()));
    const verifier = new TokenVerifier(config.tokens, { now: Date.now, cache: config.cache.tokens });
    const decisionCache = new DecisionCache(config.cache.decisions);
    let epoch = 0;
    let evaluations = 0;
    const p = new CheckPipeline({
      config,
      store,
      engine,
      verifier,
      now: Date.now,
      newId: () => 'id',
      decisionCache,
      epoch: () => epoch,
      onEvaluation: () => evaluations++,
    });
    return { p, bump: () => epoch++, evaluations: () => evaluations };
  }

  it('reuses a low-risk decision for identical inputs and says so', async () => {
    const { p, evaluations } = await cachedPipeline();
    const token = await issuer.sign({ sub: 'alice' });
    const first = await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token }));
    const second = await decide(p, httpCheckRequest({ path: '/accounts/acc-1001?x=1', token, sourceIp: '10.9.9.9' }));
    expect(first).toMatchObject({ allowed: true, source: 'engine', policies: ['account-owner-read'] });
    expect(second).toMatchObject({ allowed: true, source: 'cache', policies: ['account-owner-read'] });
    expect(evaluations()).toBe(1);
  });

  it("never serves one principal another principal's decision", async () => {
    const { p } = await cachedPipeline();
    const owner = await issuer.sign({ sub: 'alice' });
    expect(await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: owner }))).toMatchObject({
      allowed: true,
    });
    const intruder = await issuer.sign({ sub: 'erin', tenant: 'globex' });
    expect(await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: intruder }))).toMatchObject({
      allowed: false,
      source: 'engine',
    });
    // Same user, a role more in the token: different inputs, evaluated afresh.
    const teller = await issuer.sign({ sub: 'alice', roles: ['teller'] });
    expect(await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: teller }))).toMatchObject({
      source: 'engine',
    });
  });

  it('never caches high-risk routes', async () => {
    const { p, evaluations } = await cachedPipeline();
    const token = await issuer.sign({
      sub: 'alice',
      scope: 'payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    for (let i = 0; i < 3; i++) {
      expect(
        await decide(p, httpCheckRequest({ method: 'POST', path: '/accounts/acc-1001/transfers', token })),
      ).toMatchObject({ allowed: true, source: 'engine' });
    }
    expect(evaluations()).toBe(3);
  });

  it('a new epoch (revocation, risk change) makes cached decisions unusable', async () => {
    const { p, bump } = await cachedPipeline();
    const token = await issuer.sign({ sub: 'alice' });
    await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token }));
    bump();
    expect(await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token }))).toMatchObject({
      source: 'engine',
    });
  });

  it('checks the token before the cache: an expired token is refused though its decision is cached', async () => {
    const { p } = await cachedPipeline();
    const live = await issuer.sign({ sub: 'alice' });
    await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: live }));
    const expired = await issuer.sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 3600 });
    expect(await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: expired }))).toMatchObject({
      allowed: false,
      reason: 'token_expired',
    });
  });
});
