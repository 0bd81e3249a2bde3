// Slicing must be invisible: for random policy sets and random requests, evaluating the slice gives the
// same decision, the same determining policies and the same erroring policies as evaluating the whole set.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { EntityJson } from '../../../src/cedar/cedar.js';
import { cedar } from '../../../src/cedar/cedar.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import type { DecisionEngine } from '../../../src/engine/decision-engine.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { scopeCanMatch } from '../../../src/policy/plan-slices.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

const PRINCIPALS = [
  'principal',
  'principal == T::User::"u1"',
  'principal == T::Group::"g1"',
  'principal in T::Group::"g1"',
  'principal is T::User',
  'principal is T::Doc',
  'principal is T::User in T::Group::"g1"',
];
const ACTIONS = [
  'action',
  'action == T::Action::"read"',
  'action == T::Action::"write"',
  'action in T::Action::"readish"',
  'action in [T::Action::"write", T::Action::"admin"]',
  'action in T::Action::"all"',
];
const RESOURCES = [
  'resource',
  'resource == T::Doc::"d1"',
  'resource == T::Folder::"f1"',
  'resource in T::Folder::"f1"',
  'resource is T::Doc',
  'resource is T::Folder',
  'resource is T::Doc in T::Folder::"f1"',
];
const CONDITIONS = [
  '',
  'when { true }',
  'when { resource.owner == principal }',
  'when { principal.level > 3 }',
  'unless { context.flag }',
  'when { context.n > 2 }',
  'when { principal in T::Group::"g1" }',
];

const policyArb = fc.record({
  effect: fc.constantFrom('permit', 'forbid'),
  principal: fc.constantFrom(...PRINCIPALS),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  condition: fc.constantFrom(...CONDITIONS),
});

const ROUTE_ACTIONS = ['read', 'write', 'admin'];
const ROUTES = ROUTE_ACTIONS.flatMap((action) =>
  ['Doc', 'Folder'].map(
    (type) =>
      `  - { id: ${action}-${type.toLowerCase()}, method: GET, path: "/${type}/{id}/${action}", action: ${action}, resource: { type: ${type}, id: "{id}" } }`,
  ),
);
const ROUTES_YAML = ['namespace: T', 'principal: { type: User }', 'routes:', ...ROUTES].join('\n');

const ACTION_ENTITIES: EntityJson[] = [
  { uid: { type: 'T::Action', id: 'read' }, attrs: {}, parents: [{ type: 'T::Action', id: 'readish' }] },
  { uid: { type: 'T::Action', id: 'readish' }, attrs: {}, parents: [{ type: 'T::Action', id: 'all' }] },
  { uid: { type: 'T::Action', id: 'write' }, attrs: {}, parents: [{ type: 'T::Action', id: 'all' }] },
  { uid: { type: 'T::Action', id: 'admin' }, attrs: {}, parents: [] },
  { uid: { type: 'T::Action', id: 'all' }, attrs: {}, parents: [] },
];

const requestArb = fc.record({
  principal: fc.constantFrom('u1', 'u2'),
  inGroup: fc.boolean(),
  level: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  action: fc.constantFrom(...ROUTE_ACTIONS),
  resource: fc.constantFrom(['Doc', 'd1'], ['Doc', 'd2'], ['Folder', 'f1'], ['Folder', 'f2']),
  owner: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
  inFolder: fc.boolean(),
  flag: fc.option(fc.boolean(), { nil: undefined }),
  n: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
});

type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function toCall(r: Req) {
  const principal = { type: 'T::User', id: r.principal };
  const resource = { type: `T::${r.resource[0]}`, id: r.resource[1] };
  const entities: EntityJson[] = [
    {
      uid: principal,
      attrs: r.level === undefined ? {} : { level: r.level },
      parents: r.inGroup ? [{ type: 'T::Group', id: 'g1' }] : [],
    },
    {
      uid: resource,
      attrs: r.owner === undefined ? {} : { owner: { __entity: { type: 'T::User', id: r.owner } } },
      parents: r.inFolder && resource.type === 'T::Doc' ? [{ type: 'T::Folder', id: 'f1' }] : [],
    },
    ...ACTION_ENTITIES,
  ];
  const context: Record<string, boolean | number> = {};
  if (r.flag !== undefined) context.flag = r.flag;
  if (r.n !== undefined) context.n = r.n;
  return {
    principal,
    action: { type: 'T::Action', id: r.action },
    resource,
    context,
    principalEntity: entities[0] as never,
    entities,
  };
}

const normalise = (a: ReturnType<DecisionEngine['authorize']>) =>
  a.kind === 'decision'
    ? { allow: a.allow, determining: [...a.determining].sort(), errored: a.errored.map((e) => e.policyId).sort() }
    : a;

describe('policy slicing', () => {
  it('gives the same decision, reasons and errors as the whole set (property)', () => {
    const sliced = new CedarWasmEngine({ validateRequests: false, slicing: true });
    const whole = new CedarWasmEngine({ validateRequests: false, slicing: false });
    let excluded = 0;
    fc.assert(
      fc.property(
        fc.array(policyArb, { minLength: 1, maxLength: 25 }),
        fc.array(requestArb, { minLength: 1, maxLength: 15 }),
        (policies, requests) => {
          const text = policies
            .map((p, i) => `@id("p${i}") ${p.effect}(${p.principal}, ${p.action}, ${p.resource}) ${p.condition};`)
            .join('\n');
          // Action groups come from entities.json, as in the sidecar: planning and requests share one source.
          const model = compilePolicyModel(
            new Map([
              ['gen.cedar', text],
              ['routes.yaml', ROUTES_YAML],
              ['entities.json', JSON.stringify(ACTION_ENTITIES)],
            ]),
          );
          for (const slice of model.slicePlan.values()) excluded += policies.length - slice.policyIds.length;
          const a = sliced.prepare(model);
          const b = whole.prepare(model);
          try {
            for (const r of requests) {
              const call = toCall(r);
              expect(normalise(sliced.authorize(a, call))).toEqual(normalise(whole.authorize(b, call)));
            }
          } finally {
            sliced.retire(a);
            whole.retire(b);
          }
        },
      ),
      { numRuns: Number(process.env.AUTHZD_FUZZ_RUNS ?? 150) },
    );
    // The generator must exercise exclusion, or the property proves nothing.
    expect(excluded).toBeGreaterThan(100);
  });

  it('excludes by principal/resource type and action (with groups), keeps what types cannot rule out', () => {
    const json = (text: string) => {
      const r = cedar.policyToJson(text);
      if (r.type !== 'success') throw new Error(JSON.stringify(r.errors));
      return r.json;
    };
    const target = { principalType: 'T::User', resourceType: 'T::Doc' };
    const read = 'T::Action::"read"';
    const groups = new Set(['T::Action::"readish"', 'T::Action::"all"', 'Shared::Action::"reads"']);
    expect(scopeCanMatch(json('permit(principal, action, resource);'), target, read, groups)).toBe(true);
    expect(scopeCanMatch(json('permit(principal is T::Doc, action, resource);'), target, read, groups)).toBe(false);
    expect(scopeCanMatch(json('permit(principal == T::Group::"g", action, resource);'), target, read, groups)).toBe(
      false,
    );
    expect(scopeCanMatch(json('permit(principal in T::Group::"g", action, resource);'), target, read, groups)).toBe(
      true,
    );
    expect(
      scopeCanMatch(json('permit(principal, action == T::Action::"write", resource);'), target, read, groups),
    ).toBe(false);
    expect(scopeCanMatch(json('permit(principal, action in T::Action::"all", resource);'), target, read, groups)).toBe(
      true,
    );
    expect(
      scopeCanMatch(
        json('permit(principal, action in [T::Action::"admin", T::Action::"readish"], resource);'),
        target,
        read,
        groups,
      ),
    ).toBe(true);
    expect(scopeCanMatch(json('permit(principal, action, resource is T::Folder);'), target, read, groups)).toBe(false);
    expect(scopeCanMatch(json('permit(principal, action, resource in T::Folder::"f");'), target, read, groups)).toBe(
      true,
    );
    // Memberships are whole uids: a group of another namespace matches, a same-named one of a third does not.
    expect(
      scopeCanMatch(json('forbid(principal, action in Shared::Action::"reads", resource);'), target, read, groups),
    ).toBe(true);
    expect(
      scopeCanMatch(json('forbid(principal, action in Other::Action::"reads", resource);'), target, read, groups),
    ).toBe(false);
    expect(
      scopeCanMatch(json('forbid(principal, action == Other::Action::"read", resource);'), target, read, groups),
    ).toBe(false);
  });

  it('slices the example policies to what each route can use', () => {
    const model = compilePolicyModel(examplePolicyFiles());
    const byAction = new Map(
      [...model.slicePlan.values()].map((s) => [
        `${s.target.principalType} ${s.target.action}`,
        [...s.policyIds].sort(),
      ]),
    );
    expect(byAction.get('Bank::User readAccount')).toEqual(['account-owner-read', 'teller-read', 'tenant-isolation']);
    // get-account allows workloads: their requests have a slice of their own.
    expect(byAction.get('Bank::Workload readAccount')).toEqual([
      'account-owner-read',
      'ledger-reads-accounts',
      'teller-read',
    ]);
    expect(byAction.get('Bank::User transferFunds')).toEqual([
      'frozen-account',
      'high-risk-write',
      'owner-transfer',
      'tenant-isolation',
      'transfer-requires-mfa',
    ]);
    expect(byAction.get('Bank::Workload connect')).toEqual(['ledger-to-core']);
  });
});
