import { describe, expect, it } from 'vitest';

import { entityKey, EntityStore } from '../../../src/policy/entity-store.js';

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
    {
      uid: { __entity: { type: 'Account', id: 'a2' } },
      attrs: {},
      parents: [{ __entity: { type: 'Tenant', id: 'acme' } }],
    },
  ]);

  it('knows every ancestor of an entity, transitively, and which types it holds', () => {
    expect([...store.ancestorKeysOf(entityKey({ type: 'Role', id: 'admin' }))].sort()).toEqual([
      entityKey({ type: 'Role', id: 'staff' }),
      entityKey({ type: 'Role', id: 'teller' }),
    ]);
    expect(store.getByKey(entityKey({ type: 'Account', id: 'a1' }))?.attrs).toEqual({ tenant: 'acme' });
    expect(store.holdsType('Account')).toBe(true);
    expect(store.holdsType('Nope')).toBe(false);
  });

  it('accepts the __entity form and skips keys it does not know', () => {
    expect(store.get({ type: 'Account', id: 'a2' })?.parents).toEqual([{ type: 'Tenant', id: 'acme' }]);
    expect(store.getByKey(entityKey({ type: 'Account', id: 'nope' }))).toBeUndefined();
    expect(store.ancestorKeysOf(entityKey({ type: 'Account', id: 'nope' }))).toEqual([]);
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
    expect(() => new EntityStore([{ ...e('R', 'a'), tags: [] }])).toThrow(/entities.json\[0\].tags/);
    expect(new EntityStore([{ ...e('R', 'a'), tags: { level: 3 } }]).get({ type: 'R', id: 'a' })?.tags).toEqual({
      level: 3,
    });
  });

  it('can drop a type (action entities when a schema defines them)', () => {
    const s = new EntityStore([e('Bank::Action', 'read'), e('Role', 'x')], { dropTypes: new Set(['Bank::Action']) });
    expect(s.size).toBe(1);
  });
});
