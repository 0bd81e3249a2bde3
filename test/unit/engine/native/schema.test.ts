import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { schemaTextToJson } from '../../../../src/engine/native/cedar-wasm-adapter.js';
import { buildSchema } from '../../../../src/engine/native/schema.js';
import { EntityRef } from '../../../../src/engine/native/values.js';

describe('buildSchema', () => {
  it('resolves names as Cedar does: namespace first, then the empty namespace; builtins through __cedar', () => {
    const schema = buildSchema(
      schemaTextToJson(`
        type Name = String;
        entity Top;
        namespace A {
          type Ctx = { n: Name, top: Top, own: E, ip: ipaddr, d: __cedar::Long };
          entity E in [Top, B::F] = { ctx: Ctx, tags?: Set<E> } tags String;
          entity Color enum ["red", "green"];
          action go in [B::Action::"group"] appliesTo { principal: E, resource: [E, Top], context: Ctx };
        }
        namespace B {
          entity F in [F];
          action group;
          action "other" in [group] appliesTo { principal: F, resource: F };
        }
      `),
    );
    const e = schema.entityTypes.get('A::E')!;
    const ctx = e.shape.attrs.get('ctx')!.type as unknown as { t: 'record'; attrs: Map<string, { type: unknown }> };
    expect(ctx.attrs.get('n')!.type).toEqual({ t: 'string' }); // a common type of the empty namespace
    expect(ctx.attrs.get('d')!.type).toEqual({ t: 'long' });
    expect(ctx.attrs.get('top')!.type).toEqual({ t: 'entity', name: 'Top' });
    expect(ctx.attrs.get('own')!.type).toEqual({ t: 'entity', name: 'A::E' });
    expect(ctx.attrs.get('ip')!.type).toEqual({ t: 'ext', name: 'ipaddr' });
    expect(e.tags).toEqual({ t: 'string' });
    expect([...e.ancestorTypes].sort()).toEqual(['B::F', 'Top']);
    expect(e.shape.attrs.get('tags')!.required).toBe(false);
    expect([...schema.entityTypes.get('A::Color')!.enumIds!]).toEqual(['red', 'green']);
    const go = schema.actions.get(new EntityRef('A::Action', 'go').key)!;
    expect([...go.ancestors]).toEqual([new EntityRef('B::Action', 'group').key]);
    expect([...go.resourceTypes].sort()).toEqual(['A::E', 'Top']);
    const other = schema.actions.get(new EntityRef('B::Action', 'other').key)!;
    expect(other.parents.map(String)).toEqual(['B::Action::"group"']);
    expect(other.context).toEqual({ t: 'record', attrs: new Map(), open: false });
  });

  it("reads authzd's example schema", () => {
    const schema = buildSchema(
      schemaTextToJson(
        readFileSync(path.resolve(import.meta.dirname, '../../../../policies/schema.cedarschema'), 'utf8'),
      ),
    );
    const read = schema.actions.get(new EntityRef('Bank::Action', 'readAccount').key)!;
    expect([...read.principalTypes].sort()).toEqual(['Bank::User', 'Bank::Workload']);
    expect([...read.ancestors]).toEqual([new EntityRef('Bank::Action', 'read').key]);
    const token = read.context.attrs.get('token')!;
    expect(token.required).toBe(false);
    expect((token.type as { t: string }).t).toBe('record');
  });
});
