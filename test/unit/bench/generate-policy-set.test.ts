import { describe, expect, it } from 'vitest';

import { generatePolicySet, policySetLayout, resourceAt } from '../../../bench/generate-policy-set.mjs';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';

describe('generatePolicySet', () => {
  it('produces a set authzd accepts: strict schema validation, entities and routes included', () => {
    const { files, layout } = generatePolicySet({ policies: 40, entities: 120 });
    const model = compilePolicyModel(files);
    expect(Object.keys(model.policies)).toHaveLength(40);
    expect(model.routes.routes).toHaveLength(4);
    expect(model.entities.size).toBe(120);
    expect(model.warnings).toEqual([]);
    expect(layout.resourceCount).toBe(88);
  });

  it('spreads 1,000 policies over 100 actions and 10 resource types, ten per action', () => {
    const layout = policySetLayout(1000, 1000);
    expect(layout.actions).toHaveLength(100);
    expect(layout.typeCount).toBe(10);
    const { files } = generatePolicySet({ policies: 1000, entities: 100 });
    const text = [...files]
      .filter(([n]) => n.endsWith('.cedar'))
      .map(([, t]) => t)
      .join('\n');
    const perAction = new Map<string, number>();
    for (const [, action] of text.matchAll(/action == Gen::Action::"(act\d+)"/g))
      perAction.set(action, (perAction.get(action) ?? 0) + 1);
    expect(perAction.size).toBe(100);
    expect(new Set(perAction.values())).toEqual(new Set([10]));
  });

  it('keeps 10 policies on one action, and addresses each resource through its action’s route', () => {
    const layout = policySetLayout(10, 100);
    expect(layout.actions).toHaveLength(1);
    const r = resourceAt(layout, 37);
    expect(r).toEqual({ type: 'Res0', id: 'r37', tenant: 'tenant7', owner: 'user37', level: 2 });
    expect(layout.actions[0].pathFor(r.id)).toBe('/svc0/r37/op0');
  });

  it('rejects sizes it cannot lay out', () => {
    expect(() => policySetLayout(0, 100)).toThrow(RangeError);
    expect(() => policySetLayout(10, 5)).toThrow(RangeError);
  });
});
