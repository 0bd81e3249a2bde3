import { describe, expect, it } from 'vitest';

import { cedar } from '../../../../src/cedar/cedar.js';
import { NativeEngine } from '../../../../src/engine/native/native-engine.js';
import { fromNative, type Outcome } from '../../../helpers/differential.js';

const e = (type: string, id: string, parents: [string, string][] = [], attrs: Record<string, unknown> = {}) => ({
  uid: { type, id },
  attrs,
  parents: parents.map(([t, i]) => ({ type: t, id: i })),
});

const store = [
  e('G', 'root'),
  e('G', 'mid', [['G', 'root']]),
  e('U', 'alice', [['G', 'mid']], { n: 1 }),
  e('D', 'doc', [['U', 'alice']]),
  e('G', 'other'),
];
const policies = {
  inRoot: 'permit(principal in G::"root", action, resource);',
  docInOther: 'permit(principal, action, resource) when { resource in G::"other" };',
  docInRoot: 'forbid(principal, action, resource) when { resource in G::"root" && principal.n > 0 };',
};

/** cedar-wasm on the store with the overlay's entities replacing those of the same uid. */
function wasm(principal: { type: string; id: string }, overlay: ReturnType<typeof e>[]): Outcome {
  const over = new Set(overlay.map((x) => `${x.uid.type}/${x.uid.id}`));
  const entities = [...store.filter((x) => !over.has(`${x.uid.type}/${x.uid.id}`)), ...overlay];
  const a = cedar.isAuthorized({
    principal,
    action: { type: 'Action', id: 'a' },
    resource: { type: 'D', id: 'doc' },
    context: {},
    policies: { staticPolicies: policies },
    entities: entities as never,
  });
  return a.type === 'failure'
    ? { invalid: true }
    : {
        decision: a.response.decision,
        reason: [...a.response.diagnostics.reason].sort(),
        errors: a.response.diagnostics.errors.map((x) => x.policyId).sort(),
      };
}

describe('overlay entities', () => {
  const engine = new NativeEngine({ policies, entities: store });
  const native = (principal: { type: string; id: string }, overlay: ReturnType<typeof e>[]) =>
    fromNative(
      engine.isAuthorized(
        { principal, action: { type: 'Action', id: 'a' }, resource: { type: 'D', id: 'doc' }, context: {} },
        { overlay },
      ),
    );

  const cases: [string, { type: string; id: string }, ReturnType<typeof e>[]][] = [
    ['a new principal with stored parents', { type: 'U', id: 'bob' }, [e('U', 'bob', [['G', 'mid']], { n: 2 })]],
    [
      'a principal replacing the stored one (attributes and parents)',
      { type: 'U', id: 'alice' },
      [e('U', 'alice', [['G', 'other']], { n: 5 })],
    ],
    [
      'a replaced entity that store entities descend from: their ancestors follow the overlay',
      { type: 'U', id: 'alice' },
      [e('U', 'alice', [], { n: 1 })],
    ],
    [
      'a replaced entity gaining parents seen by its descendants',
      { type: 'U', id: 'alice' },
      [
        e(
          'U',
          'alice',
          [
            ['G', 'other'],
            ['G', 'mid'],
          ],
          { n: 0 },
        ),
      ],
    ],
    ['a cycle through the overlay', { type: 'U', id: 'alice' }, [e('U', 'alice', [['D', 'doc']], { n: 1 })]],
    ['an overlay entity that is its own parent', { type: 'U', id: 'zoe' }, [e('U', 'zoe', [['U', 'zoe']], { n: 1 })]],
    ['an overlay entity that is not the principal', { type: 'U', id: 'alice' }, [e('G', 'mid')]],
    [
      'two overlay entities',
      { type: 'U', id: 'carol' },
      [e('U', 'carol', [['G', 'x']], { n: 1 }), e('G', 'x', [['G', 'root']])],
    ],
    [
      'a malformed overlay entity',
      { type: 'U', id: 'alice' },
      [{ uid: { type: 'U', id: 'alice' }, attrs: { n: 1.5 }, parents: [] } as never],
    ],
  ];
  for (const [name, principal, overlay] of cases) {
    it(`${name}: same answer as cedar-wasm on the merged entities`, () => {
      expect(native(principal, overlay)).toEqual(wasm(principal, overlay));
    });
  }

  it('does not change the store for later calls', () => {
    native({ type: 'U', id: 'alice' }, [e('U', 'alice', [['G', 'other']], { n: 5 })]);
    expect(native({ type: 'U', id: 'alice' }, [])).toEqual(wasm({ type: 'U', id: 'alice' }, []));
  });
});
