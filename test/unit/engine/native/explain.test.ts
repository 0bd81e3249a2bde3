import { describe, expect, it } from 'vitest';

import { cedar } from '../../../../src/cedar/cedar.js';
import { NativeEngine } from '../../../../src/engine/native/native-engine.js';
import { policyFromJson } from '../../../../src/engine/native/policy-from-json.js';

const request = {
  principal: { type: 'U', id: 'alice' },
  action: { type: 'Action', id: 'read' },
  resource: { type: 'Doc', id: 'd' },
  context: { n: 9223372036854775807n, s: 'x' },
};

describe('explain', () => {
  const engine = new NativeEngine({
    policies: {
      ok: 'permit(principal == U::"alice", action, resource) when { context.s == "x" };',
      scopeMiss: 'permit(principal == U::"bob", action, resource) when { context.nope };',
      overflow:
        'forbid(principal, action, resource) when { context.s == "x" } when { context.n + 1 > 0 } when { true };',
      falseFirst: 'forbid(principal, action, resource) unless { context.s == "x" } when { context.n + 1 > 0 };',
    },
    entities: [],
  });

  it('reports per policy the scope, each condition and the sub-expression that errored', () => {
    const x = engine.explain(request);
    if (x.type !== 'explanation') throw new Error('invalid');
    expect(x.answer).toEqual({
      type: 'decision',
      decision: 'allow',
      reason: ['ok'],
      errors: [expect.objectContaining({ policyId: 'overflow' })],
    });
    const by = Object.fromEntries(x.policies.map((p) => [p.id, p]));
    expect(by.ok!.outcome).toBe('satisfied');
    expect(by.ok!.conditions).toEqual([{ kind: 'when', text: 'when { context.s == "x" }', value: 'true' }]);
    expect(by.scopeMiss!.scope).toEqual({ principal: false, action: true, resource: true });
    expect(by.scopeMiss!.conditions[0]!.skipped).toBe(true);
    expect(by.overflow!.outcome).toBe('error');
    const err = by.overflow!.conditions[1]!.error!;
    expect(err.message).toMatch(/overflow/);
    expect(err.at).toBe('context.n + 1');
    expect(by.overflow!.conditions[2]!.skipped).toBe(true);
    expect(by.falseFirst!.outcome).toBe('not-satisfied');
    expect(by.falseFirst!.conditions.map((c) => c.skipped ?? false)).toEqual([false, true]);
  });

  it('prints the sub-expression when the policy came as JSON (no source text)', () => {
    const json = cedar.policyToJson('permit(principal, action, resource) when { [1, 2].contains(context.nope) };');
    if (json.type !== 'success') throw new Error('policyToJson');
    const e = new NativeEngine({ policies: { j: { ast: policyFromJson(json.json) } } });
    const x = e.explain(request);
    if (x.type !== 'explanation') throw new Error('invalid');
    expect(x.policies[0]!.conditions[0]!.error!.at).toBe('(context)["nope"]');
  });

  it('answers invalid for a request that cannot be evaluated', () => {
    expect(engine.explain({ ...request, principal: { type: '1nvalid', id: 'a' } }).type).toBe('invalid');
  });
});
