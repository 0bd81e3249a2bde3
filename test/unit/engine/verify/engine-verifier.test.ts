import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import type { CedarCall } from '../../../../src/contract/cedar-call.js';
import type { DecisionEngine, EngineAnswer, PreparedSet } from '../../../../src/engine/decision-engine.js';
import { NativeDecisionEngine } from '../../../../src/engine/native/native-decision-engine.js';
import { PolicyStore } from '../../../../src/engine/policy-store.js';
import { compareAnswers } from '../../../../src/engine/verify/compare-answers.js';
import { EngineVerifier, redactCall } from '../../../../src/engine/verify/engine-verifier.js';
import { VerifiedEngine } from '../../../../src/engine/verify/verified-engine.js';
import { compilePolicyModel } from '../../../../src/policy/compile-policy-model.js';
import { createMetrics } from '../../../../src/telemetry/metrics.js';
import { examplePolicyFiles } from '../../../helpers/policy-files.js';
import { until } from '../../../helpers/until.js';

const ownerRead: CedarCall = {
  principal: { type: 'Bank::User', id: 'alice' },
  action: { type: 'Bank::Action', id: 'readAccount' },
  resource: { type: 'Bank::Account', id: 'acc-1001' },
  context: {
    request: {
      method: 'GET',
      path: '/accounts/acc-1001',
      host: 'bank.example',
      scheme: 'https',
      routeId: 'read-account',
      time: 1_700_000_000,
    },
  },
  principalEntity: {
    uid: { type: 'Bank::User', id: 'alice' },
    attrs: { tenant: 'acme', email: 'alice@example.com' },
    parents: [{ type: 'Bank::Role', id: 'customer' }],
  },
};

/** An engine that answers as `inner` but flips every decision: the bug verification exists to catch. */
class FlippingEngine<S extends PreparedSet> implements DecisionEngine<S> {
  readonly name = 'flipping';
  constructor(readonly inner: DecisionEngine<S>) {}
  prepare = (m: Parameters<DecisionEngine<S>['prepare']>[0]) => this.inner.prepare(m);
  prepareAsync = (m: Parameters<DecisionEngine<S>['prepare']>[0]) => this.inner.prepareAsync(m);
  retire = (s: S) => this.inner.retire(s);
  authorize(set: S, call: CedarCall): EngineAnswer {
    const a = this.inner.authorize(set, call);
    return a.kind === 'decision' ? { ...a, allow: !a.allow } : a;
  }
}

function setUp(engine: DecisionEngine, options: { sample?: number; queue?: number } = {}) {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const logged: { obj: unknown; msg: string }[] = [];
  const logger = {
    error: (obj: unknown, msg: string) => logged.push({ obj, msg }),
    warn: (obj: unknown, msg: string) => logged.push({ obj, msg }),
  };
  const verifier = new EngineVerifier({
    sample: options.sample ?? 1,
    queue: options.queue ?? 64,
    validateRequests: true,
    maxRequestEntities: 5_000,
    metrics,
    logger: logger as never,
  });
  const verified = new VerifiedEngine(engine, verifier);
  const store = new PolicyStore(verified);
  const count = async (result: string) =>
    (await metrics.engineVerifications.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  const disagreements = async () => (await metrics.engineDisagreements.get()).values[0]?.value ?? 0;
  return { verifier, verified, store, count, disagreements, logged };
}

describe('EngineVerifier', () => {
  it('counts agreement when the native engine answers as cedar-wasm', async () => {
    const t = setUp(new NativeDecisionEngine({ validateRequests: true }));
    await t.store.activateAsync(compilePolicyModel(examplePolicyFiles()));
    const set = t.store.acquire()!;
    // Loading finishes a few event-loop turns after activation; samples before that are dropped.
    await until('a sample agrees', async () => {
      const answer = t.verified.authorize(set, ownerRead);
      expect(answer).toMatchObject({ kind: 'decision', allow: true });
      return (await t.count('agree')) > 0 ? true : undefined;
    });
    expect(await t.disagreements()).toBe(0);
    expect(t.logged.filter((l) => l.msg.startsWith('engine disagreement'))).toEqual([]);
    await t.verifier.close();
  });

  it('keeps verifying when the same version is activated again (a reload of unchanged files)', async () => {
    const t = setUp(new NativeDecisionEngine({ validateRequests: true }));
    const model = compilePolicyModel(examplePolicyFiles());
    await t.store.activateAsync(model);
    // The same version again: the set it replaces is retired while the new one is being sent.
    await t.store.activateAsync(compilePolicyModel(examplePolicyFiles()));
    const set = t.store.acquire()!;
    expect(set.model.version).toBe(model.version);
    await until('a sample of the re-activated set agrees', async () => {
      t.verified.authorize(set, ownerRead);
      return (await t.count('agree')) > 0 ? true : undefined;
    });
    expect(await t.count('skipped')).toBe(0);
    await t.verifier.close();
  });

  it('counts and logs a disagreement, with the request as a shape and never its values', async () => {
    const t = setUp(new FlippingEngine(new NativeDecisionEngine({ validateRequests: true })));
    await t.store.activateAsync(compilePolicyModel(examplePolicyFiles()));
    const set = t.store.acquire()!;
    await until('a disagreement', async () => {
      t.verified.authorize(set, ownerRead);
      return (await t.disagreements()) > 0 ? true : undefined;
    });
    expect(await t.count('disagree')).toBeGreaterThan(0);
    const line = t.logged.find((l) => l.msg.startsWith('engine disagreement'))!;
    expect(line.obj).toMatchObject({
      engine: { decision: 'deny' },
      cedarWasm: { decision: 'allow', determining: ['account-owner-read'] },
      request: { principalAttributes: { tenant: 'string', email: 'string' } },
    });
    expect(JSON.stringify(line.obj)).not.toContain('alice@example.com');
    expect(JSON.stringify(line.obj)).not.toContain('acme');
    await t.verifier.close();
  });

  it('drops samples past its queue and while it has not got the set, never blocking the decision', async () => {
    const t = setUp(new NativeDecisionEngine({ validateRequests: true }), { queue: 1 });
    const model = compilePolicyModel(examplePolicyFiles());
    const set = t.verified.prepare(model);
    // Not loaded yet: prepare returned before the model reached the verifier.
    t.verified.authorize(set, ownerRead);
    expect(await t.count('dropped')).toBe(1);
    const before = await until('loaded: a sample in flight', async () => {
      const dropped = await t.count('dropped');
      t.verified.authorize(set, ownerRead);
      return t.verifier.inFlight > 0 ? dropped : undefined;
    });
    // The queue holds one sample, in flight now: the next ones are dropped, and the decisions still made.
    for (let i = 0; i < 5; i++) t.verified.authorize(set, ownerRead);
    expect(await t.count('dropped')).toBe(before + 5);
    await t.verifier.close();
  });

  it('samples the configured fraction', async () => {
    const t = setUp(new NativeDecisionEngine({ validateRequests: true }), { sample: 0 });
    const set = t.verified.prepare(compilePolicyModel(examplePolicyFiles()));
    for (let i = 0; i < 100; i++) t.verified.authorize(set, ownerRead);
    expect(t.verifier.inFlight).toBe(0);
    expect(await t.count('dropped')).toBe(0);
    await t.verifier.close();
  });
});

describe('compareAnswers', () => {
  const d = (allow: boolean, determining: string[], errored: string[] = []): EngineAnswer => ({
    kind: 'decision',
    allow,
    determining,
    errored: errored.map((policyId) => ({ policyId, message: 'x' })),
  });
  it('compares decisions, determining and erroring policies as sets', () => {
    expect(compareAnswers(d(true, ['a', 'b']), d(true, ['b', 'a']))).toBe('agree');
    expect(compareAnswers(d(true, ['a']), d(false, ['a']))).toBe('disagree');
    expect(compareAnswers(d(false, ['a']), d(false, ['a', 'b']))).toBe('disagree');
    expect(compareAnswers(d(false, ['a', 'a']), d(false, ['a', 'b']))).toBe('disagree');
    expect(compareAnswers(d(false, [], ['e']), d(false, [], []))).toBe('disagree');
    expect(compareAnswers({ kind: 'invalid', messages: ['x'] }, { kind: 'invalid', messages: ['y'] })).toBe('agree');
    expect(compareAnswers({ kind: 'invalid', messages: [] }, d(false, []))).toBe('disagree');
    expect(compareAnswers(d(false, []), { kind: 'too_many_entities', limit: 1 })).toBe('inconclusive');
  });

  it('redacts every context and attribute value', () => {
    const shape = redactCall({ ...ownerRead, context: { ip: '10.0.0.1', risk: { score: 3, flags: ['a'] } } });
    expect(shape).toMatchObject({ context: { ip: 'string', risk: { score: 'number', flags: ['string'] } } });
  });
});
