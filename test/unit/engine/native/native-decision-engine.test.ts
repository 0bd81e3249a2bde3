import { describe, expect, it } from 'vitest';

import type { CedarCall } from '../../../../src/contract/cedar-call.js';
import { formatExplanation } from '../../../../src/engine/native/format-explanation.js';
import { NativeDecisionEngine } from '../../../../src/engine/native/native-decision-engine.js';
import { compilePolicyModel, PolicyModelError } from '../../../../src/policy/compile-policy-model.js';
import { examplePolicyFiles } from '../../../helpers/policy-files.js';

const call = (over: Partial<CedarCall> = {}): CedarCall => ({
  principal: { type: 'Bank::User', id: 'alice' },
  action: { type: 'Bank::Action', id: 'readAccount' },
  resource: { type: 'Bank::Account', id: 'acc-1001' },
  context: {},
  principalEntity: undefined,
  ...over,
});

describe('NativeDecisionEngine (the DecisionEngine seam over the native evaluator)', () => {
  const files = (extraUsers = 0) =>
    examplePolicyFiles({
      'schema.cedarschema': null,
      'entities.json': JSON.stringify([
        { uid: { type: 'Bank::User', id: 'alice' }, attrs: { level: 1 }, parents: [] },
        ...Array.from({ length: extraUsers }, (_, i) => ({
          uid: { type: 'Bank::User', id: `u${i}` },
          attrs: { level: i },
          parents: [],
        })),
        {
          uid: { type: 'Bank::Account', id: 'acc-1001' },
          attrs: { owner: { __entity: { type: 'Bank::User', id: 'alice' } }, minLevel: 2 },
          parents: [],
        },
      ]),
      'accounts.cedar':
        '@id("leveled") permit (principal, action, resource) when { principal.level >= resource.minLevel };',
      'tenants.cedar': '',
      'transfers.cedar': '',
      'workloads.cedar': '',
    });

  it('reads the store in place, and the principal as the call built it replaces the stored one', () => {
    const engine = new NativeDecisionEngine({ validateRequests: true });
    const set = engine.prepare(compilePolicyModel(files()));
    expect(engine.authorize(set, call())).toMatchObject({ kind: 'decision', allow: false, determining: [] });
    const built = call({
      principalEntity: { uid: { type: 'Bank::User', id: 'alice' }, attrs: { level: 3 }, parents: [] },
    });
    expect(engine.authorize(set, built)).toEqual({
      kind: 'decision',
      allow: true,
      determining: ['leveled'],
      errored: [],
    });
    // A principal without the attribute: the policy errors, and Cedar reports it.
    const bare = call({ principalEntity: { uid: { type: 'Bank::User', id: 'alice' }, attrs: {}, parents: [] } });
    const answer = engine.authorize(set, bare);
    expect(answer).toMatchObject({ kind: 'decision', allow: false, errored: [{ policyId: 'leveled' }] });
    const lines = formatExplanation(engine.explain(set, bare));
    expect(lines[0]).toBe('DENY  determining: none; errors: leveled');
    expect(lines[1]).toBe('! permit leveled: scope matches');
    expect(lines[2]).toMatch(
      /^ {4}when \{ principal\.level >= resource\.minLevel \} {2}-> error: .*level.*, at `principal\.level`$/,
    );
  });

  it('prepares in steps that yield to the event loop', async () => {
    const engine = new NativeDecisionEngine({ validateRequests: true });
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const model = compilePolicyModel(files(20_000));
    turns = 0;
    const set = await engine.prepareAsync(model);
    clearInterval(ticking);
    expect(engine.authorize(set, call())).toMatchObject({ kind: 'decision', allow: false });
    // 20,000 entities are read a few thousand per step: timers ran in between.
    expect(turns).toBeGreaterThan(0);
  });

  it('is never given integers JSON cannot hold: entities.json beyond ±(2^53 - 1) is refused at compile time', () => {
    const text = '[{"uid":{"type":"Bank::User","id":"alice"},"attrs":{"level":9007199254740993},"parents":[]}]';
    expect(() => compilePolicyModel(examplePolicyFiles({ 'entities.json': text }))).toThrow(PolicyModelError);
    expect(() => compilePolicyModel(examplePolicyFiles({ 'entities.json': text }))).toThrow(
      /entities\.json\[0\]\.attrs\.level: integer 9007199254740992 is beyond/,
    );
  });
});
