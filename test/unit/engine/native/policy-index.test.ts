import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isSatisfied } from '../../../../src/engine/native/compile-policy.js';
import { EntityView } from '../../../../src/engine/native/entity-view.js';
import { NativeEngine } from '../../../../src/engine/native/native-engine.js';
import { PolicyIndex } from '../../../../src/engine/native/policy-index.js';
import { EMPTY_RECORD, EntityRef } from '../../../../src/engine/native/values.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 300);
const TYPES = ['A', 'B', 'N::C'];
const ACTIONS = ['Action::"a"', 'Action::"b"', 'Action::"grp"', 'N::Action::"c"', 'N::Action::"grp"', 'Action::"none"'];

describe('PolicyIndex', () => {
  // Actions and groups across namespaces: a is in grp, grp in N::grp, N::c in N::grp.
  const entities = [
    { uid: { type: 'Action', id: 'a' }, attrs: {}, parents: [{ type: 'Action', id: 'grp' }] },
    { uid: { type: 'Action', id: 'grp' }, attrs: {}, parents: [{ type: 'N::Action', id: 'grp' }] },
    { uid: { type: 'N::Action', id: 'c' }, attrs: {}, parents: [{ type: 'N::Action', id: 'grp' }] },
    { uid: { type: 'Action', id: 'b' }, attrs: {}, parents: [] },
    { uid: { type: 'N::Action', id: 'grp' }, attrs: {}, parents: [] },
    { uid: { type: 'A', id: 'x' }, attrs: {}, parents: [{ type: 'B', id: 'y' }] },
    { uid: { type: 'B', id: 'y' }, attrs: {}, parents: [] },
  ];
  const scope = fc.oneof(
    fc.constant(''),
    fc.constantFrom(...TYPES).map((t) => ` is ${t}`),
    fc.constantFrom(...TYPES).map((t) => ` == ${t}::"x"`),
    fc.constantFrom(...TYPES).map((t) => ` in ${t}::"y"`),
    fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...TYPES)).map(([t, u]) => ` is ${t} in ${u}::"y"`),
  );
  const action = fc.oneof(
    fc.constant(''),
    fc.constantFrom(...ACTIONS).map((a) => ` == ${a}`),
    fc.constantFrom(...ACTIONS).map((a) => ` in ${a}`),
    fc.array(fc.constantFrom(...ACTIONS), { maxLength: 3 }).map((as) => ` in [${as.join(', ')}]`),
  );
  const policy = fc.tuple(scope, action, scope).map(([p, a, r]) => `permit(principal${p}, action${a}, resource${r});`);

  it('is conservative: every policy whose scope matches is a candidate, in policy-set order', () => {
    fc.assert(
      fc.property(
        fc.array(policy, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...TYPES),
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...TYPES),
        fc.constantFrom('x', 'y'),
        (ps, pt, act, rt, id) => {
          const engine = new NativeEngine({ policies: Object.fromEntries(ps.map((p, i) => [`p${i}`, p])), entities });
          const index = new PolicyIndex(engine.policies, engine.store);
          const [atype, aid] = act.split('::"') as [string, string];
          const env = {
            principal: new EntityRef(pt, id),
            action: new EntityRef(atype, aid.slice(0, -1)),
            resource: new EntityRef(rt, id),
            context: EMPTY_RECORD,
            view: new EntityView(engine.store, undefined),
          };
          const matching = engine.policies.filter((p) => isSatisfied(p, env)).map((p) => p.id);
          const candidates = index.candidates(env.action, pt, rt).map((p) => p.id);
          for (const m of matching) expect(candidates).toContain(m);
          expect(candidates).toEqual([...candidates].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('leaves out policies for other actions, groups and types', () => {
    const engine = new NativeEngine({
      policies: {
        any: 'permit(principal, action, resource);',
        viaGroup: 'permit(principal, action in N::Action::"grp", resource);',
        otherAction: 'permit(principal, action == Action::"b", resource);',
        otherType: 'permit(principal is B, action, resource);',
        sameType: 'permit(principal == A::"x", action, resource is A);',
      },
      entities,
    });
    const index = new PolicyIndex(engine.policies, engine.store);
    expect(index.candidates(new EntityRef('Action', 'a'), 'A', 'A').map((p) => p.id)).toEqual([
      'any',
      'viaGroup',
      'sameType',
    ]);
    expect(index.candidates(new EntityRef('Action', 'b'), 'B', 'A').map((p) => p.id)).toEqual([
      'any',
      'otherAction',
      'otherType',
    ]);
  });
});
