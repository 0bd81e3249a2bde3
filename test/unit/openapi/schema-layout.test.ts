import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { cedar } from '../../../src/cedar/cedar.js';
import {
  declarationText,
  parseSchemaLayout,
  quote,
  REGION_BEGIN,
  REGION_END,
  SchemaLayoutError,
  unquote,
} from '../../../src/openapi/schema-layout.js';
import { EXAMPLE_POLICIES } from '../../helpers/policy-files.js';

describe('parseSchemaLayout', () => {
  it('finds every declaration of the example schema with the names Cedar finds', () => {
    const text = readFileSync(`${EXAMPLE_POLICIES}/schema.cedarschema`, 'utf8');
    const layout = parseSchemaLayout(text);
    const bank = layout.blocks.find((b) => b.namespace === 'Bank')!;
    const json = cedar.schemaToJson(text);
    if (json.type !== 'success') throw new Error('example schema');
    const names = (kind: string) =>
      bank.declarations
        .filter((d) => d.kind === kind)
        .flatMap((d) => d.names)
        .sort();
    expect(names('entity')).toEqual(Object.keys(json.json.Bank.entityTypes).sort());
    expect(names('action')).toEqual(Object.keys(json.json.Bank.actions).sort());
    expect(names('type')).toEqual(Object.keys(json.json.Bank.commonTypes ?? {}).sort());
    expect(bank.region).toBeUndefined();
    expect(text[bank.close]).toBe('}');
  });

  it('reads top-level declarations, annotations, quoted names and the generated region', () => {
    const text = [
      'entity Top;',
      'namespace A::B {',
      '  // about Pet',
      '  entity Pet in [Owner] = { name: String };',
      `  ${REGION_BEGIN} from "x"`,
      '  @httpVerb("get") @httpPathTemplate("/pets/{id}")',
      '  action "get pet", other in [read] appliesTo { principal: User, resource: Pet, context: {} };',
      `  ${REGION_END}`,
      '}',
      '',
    ].join('\n');
    const layout = parseSchemaLayout(text);
    expect(layout.blocks.map((b) => b.namespace)).toEqual(['', 'A::B']);
    const [pet, action] = layout.blocks[1].declarations;
    expect(pet).toMatchObject({ kind: 'entity', names: ['Pet'] });
    expect(text.slice(pet.leadingStart, pet.end)).toBe('  // about Pet\n  entity Pet in [Owner] = { name: String };');
    expect(action).toMatchObject({ kind: 'action', names: ['get pet', 'other'] });
    expect(declarationText(action)).toMatch(/^@ httpVerb \( "get" \) @ httpPathTemplate/);
    const region = layout.blocks[1].region!;
    expect(text.slice(region.start, region.end)).toMatch(
      /^ {2}\/\/ authzd routes import: begin[\s\S]*end generated\n$/,
    );
    expect(action.start).toBeGreaterThan(region.start);
  });

  it.each([
    ['namespace A { entity X; ', 'unclosed'],
    ['entity X', 'without a closing ";"'],
    ['namespace A { foo X; }', 'expected entity, action or type'],
    [`namespace A { ${REGION_BEGIN}\n entity X; }`, 'without'],
    ['entity "x;', 'unterminated string'],
  ])('refuses what it cannot follow: %s', (text, message) => {
    expect(() => parseSchemaLayout(text)).toThrow(SchemaLayoutError);
    expect(() => parseSchemaLayout(text)).toThrow(message);
  });

  it('quotes and unquotes Cedar strings', () => {
    for (const value of ['get /pets/{id}', 'a"b\\c', 'line\nbreak', 'tab\there', 'nul\u0001'])
      expect(unquote(quote(value))).toBe(value);
    const schema = `action ${quote('a"b\\c\u0001')};`;
    expect(cedar.checkParseSchema(schema).type).toBe('success');
  });
});
