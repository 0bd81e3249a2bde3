import { describe, expect, it } from 'vitest';

import { schemaTextToJson } from '../../../../src/engine/native/cedar-wasm-adapter.js';
import { EntityStore } from '../../../../src/engine/native/entity-store.js';
import { buildSchema } from '../../../../src/engine/native/schema.js';
import { type CedarRecord, EntityRef } from '../../../../src/engine/native/values.js';

const e = (type: string, id: string, parents: [string, string][] = [], attrs: Record<string, unknown> = {}) => ({
  uid: { type, id },
  attrs,
  parents: parents.map(([t, i]) => ({ type: t, id: i })),
});
const key = (t: string, i: string) => new EntityRef(t, i).key;

describe('native EntityStore', () => {
  const store = EntityStore.build(
    [
      e('Role', 'admin', [['Role', 'teller']]),
      e('Role', 'teller', [['Role', 'staff']]),
      e('Role', 'staff'),
      e(
        'User',
        'alice',
        [
          ['Role', 'admin'],
          ['Group', 'ghost'],
        ],
        { n: 1 },
      ),
    ],
    undefined,
  );

  it('closes the hierarchy once: ancestors include parents named only as parents', () => {
    const alice = store.indexOf(key('User', 'alice'))!;
    const anc = [...store.ancestorIndexes(alice)].map((i) => store.keyOf(i)).sort();
    expect(anc).toEqual(
      [key('Group', 'ghost'), key('Role', 'admin'), key('Role', 'staff'), key('Role', 'teller')].sort(),
    );
    expect(store.hasAncestor(alice, store.indexOf(key('Role', 'staff'))!)).toBe(true);
    expect(store.hasAncestor(store.indexOf(key('Role', 'staff'))!, alice)).toBe(false);
    const ghost = store.indexOf(key('Group', 'ghost'))!;
    expect(store.exists(ghost)).toBe(false);
    expect(store.isParent(ghost)).toBe(true);
    expect((store.attrs(alice) as CedarRecord).get('n')).toBe(1);
  });

  it('refuses cycles (self-parents too) and conflicting duplicates; identical duplicates are one entity', () => {
    expect(() => EntityStore.build([e('R', 'a', [['R', 'b']]), e('R', 'b', [['R', 'a']])], undefined)).toThrow(/cycle/);
    expect(() => EntityStore.build([e('R', 'a', [['R', 'a']])], undefined)).toThrow(/cycle/);
    expect(() => EntityStore.build([e('R', 'a', [], { x: 1 }), e('R', 'a', [], { x: 2 })], undefined)).toThrow(
      /duplicate/,
    );
    expect(EntityStore.build([e('R', 'a', [], { x: 1 }), e('R', 'a', [], { x: 1 })], undefined).size).toBe(1);
    expect(() => EntityStore.build([e('if', 'a')], undefined)).toThrow(/invalid entity type/);
    expect(() => EntityStore.build([{ uid: { type: 'R', id: 'a' }, attrs: { x: 1.5 } }], undefined)).toThrow(/integer/);
  });

  it('closes a deep hierarchy given in any order (the walk is iterative)', () => {
    const chain = Array.from({ length: 2_000 }, (_, i) =>
      e('N', String(i), i > 0 ? [['N', String(i - 1)]] : []),
    ).reverse();
    const s = EntityStore.build(chain, undefined);
    expect(s.ancestorIndexes(s.indexOf(key('N', '1999'))!).length).toBe(1_999);
    expect(s.hasAncestor(s.indexOf(key('N', '1999'))!, s.indexOf(key('N', '0'))!)).toBe(true);
  });

  it('with a schema: parses schema-directed and checks conformance, and takes action entities from the schema', () => {
    const schema = buildSchema(
      schemaTextToJson(`
        entity G; entity U in [G] = { ip: ipaddr, owner?: U, n: Long } tags Long; entity Color enum ["red"];
        action read; action view in [read] appliesTo { principal: U, resource: U };
      `),
    );
    const s = EntityStore.build(
      [
        {
          uid: { type: 'U', id: 'u' },
          attrs: { ip: '10.0.0.1', owner: { type: 'U', id: 'v' }, n: 3 },
          parents: [{ type: 'G', id: 'g' }],
          tags: { a: 1 },
        },
      ],
      schema,
    );
    const u = s.indexOf(key('U', 'u'))!;
    expect(((s.attrs(u) as CedarRecord).get('owner') as { toString(): string }).toString()).toBe('U::"v"');
    expect((s.tags(u) as CedarRecord).get('a')).toBe(1);
    const view = s.indexOf(key('Action', 'view'))!;
    expect(s.exists(view)).toBe(true);
    expect(s.hasAncestor(view, s.indexOf(key('Action', 'read'))!)).toBe(true);
    const bad: [unknown, RegExp][] = [
      [{ uid: { type: 'U', id: 'u' }, attrs: { ip: '10.0.0.1' }, parents: [] }, /required attribute `n`/],
      [{ uid: { type: 'U', id: 'u' }, attrs: { ip: '10.0.0.1', n: 1, x: 1 }, parents: [] }, /not declared/],
      [{ uid: { type: 'U', id: 'u' }, attrs: { ip: '10.0.0.1', n: 'one' }, parents: [] }, /declared type/],
      [{ uid: { type: 'U', id: 'u' }, attrs: { ip: '10.0.0.999', n: 1 }, parents: [] }, /ip/],
      [
        { uid: { type: 'U', id: 'u' }, attrs: { ip: '10.0.0.1', n: 1 }, parents: [{ type: 'U', id: 'x' }] },
        /ancestor of type/,
      ],
      [{ uid: { type: 'G', id: 'g' }, attrs: {}, parents: [], tags: { a: 1 } }, /tags/],
      [{ uid: { type: 'X', id: 'g' }, attrs: {}, parents: [] }, /not declared/],
      [{ uid: { type: 'Color', id: 'blue' }, attrs: {}, parents: [] }, /enumerated/],
      [{ uid: { type: 'Action', id: 'view' }, attrs: {}, parents: [] }, /does not match/],
      [{ uid: { type: 'Action', id: 'nope' }, attrs: {}, parents: [] }, /not declared/],
    ];
    for (const [entity, msg] of bad)
      expect(() => EntityStore.build([entity], schema), JSON.stringify(entity)).toThrow(msg);
    expect(() =>
      EntityStore.build(
        [
          { uid: { type: 'Action', id: 'view' }, attrs: {}, parents: [{ type: 'Action', id: 'read' }] },
          { uid: { type: 'Action', id: 'read' }, attrs: {}, parents: [] },
        ],
        schema,
      ),
    ).not.toThrow();
  });
});
