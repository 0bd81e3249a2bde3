import { describe, expect, it } from 'vitest';
import { EntityStore, entityKey } from '../../../src/policy/entity-store.js';

const e = (type: string, id: string, parents: [string, string][] = [], attrs = {}) => ({
  uid: { type, id },
  attrs,
  parents: parents.map(([t, i]) => ({ type: t, id: i })),
});

describe('EntityStore', () => {
  const store = new EntityStore([
    e('Role', 'admin', [['Role', 'teller']]),
    e('Role', 'teller', [['Role', 'staff']]),
    e('Role', 'staff'),
    e('Tenant', 'acme'),
    e('Account', 'a1', [['Tenant', 'acme']], { tenant: 'acme' }),
    { uid: { __entity: { type: 'Account', id: 'a2' } }, attrs: {}, parents: [{ __entity: { type: 'Tenant', id: 'acme' } }] },
  ]);

  it('slices an entity with its ancestors, each once, and nothing else', () => {
    const slice = store.slice([entityKey({ type: 'Role', id: 'admin' }), entityKey({ type: 'Role', id: 'teller' })]);
    expect(slice.map((x) => { const u = x.uid as { type: string; id: string }; return `${u.type}:${u.id}`; }).sort()).toEqual(['Role:admin', 'Role:staff', 'Role:teller']);
  });

  it('accepts the __entity form and skips keys it does not know', () => {
    expect(store.get({ type: 'Account', id: 'a2' })?.parents).toEqual([{ type: 'Tenant', id: 'acme' }]);
    expect(store.slice([entityKey({ type: 'Account', id: 'nope' })])).toEqual([]);
    expect(store.ancestorUids({ type: 'Role', id: 'admin' })).toEqual([
      { type: 'Role', id: 'teller' },
      { type: 'Role', id: 'staff' },
    ]);
  });

  it('rejects cycles, duplicates and malformed entries with the position', () => {
    expect(() => new EntityStore([e('R', 'a', [['R', 'b']]), e('R', 'b', [['R', 'a']])])).toThrow(/cycle/);
    expect(() => new EntityStore([e('R', 'a'), e('R', 'a')])).toThrow(/entities.json\[1\]: duplicate/);
    expect(() => new EntityStore([{ uid: { type: 'R' } }])).toThrow(/entities.json\[0\].uid/);
    expect(() => new EntityStore({})).toThrow(/array/);
    expect(() => new EntityStore([{ ...e('R', 'a'), tags: {} }])).toThrow(/tags/);
  });

  it('can drop a type (action entities when a schema defines them)', () => {
    const s = new EntityStore([e('Bank::Action', 'read'), e('Role', 'x')], { dropTypes: new Set(['Bank::Action']) });
    expect(s.size).toBe(1);
  });
});
