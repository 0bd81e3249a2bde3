import { describe, expect, it } from 'vitest';

import { cedar } from '../../../src/cedar/cedar.js';
import type { Declaration } from '../../../src/openapi/build-schema-declarations.js';
import { declarationFingerprint, mergeSchemaFile } from '../../../src/openapi/merge-schema-file.js';
import { REGION_BEGIN, REGION_END } from '../../../src/openapi/schema-layout.js';

const pet: Declaration = { key: 'entity Pet', text: 'entity Pet;' };
const getPet: Declaration = {
  key: 'action "getPet"',
  text: 'action "getPet" appliesTo { principal: User, resource: Pet, context: {} };',
};
const merge = (
  existing: string,
  namespace: string | undefined,
  wanted: Declaration[],
  previous: Record<string, string> = {},
  referencedBy = () => undefined as string | undefined,
) =>
  mergeSchemaFile({
    existing,
    namespace,
    documentTitle: 'Pets',
    previous,
    build: (declared) => wanted.filter((d) => !declared(d.key)),
    referencedBy,
  });
const region = (body: string, indent = '  ') =>
  `${indent}${REGION_BEGIN} for the OpenAPI document "Pets" (docs/openapi.md). Declarations edited here by hand are kept.\n${body}${indent}${REGION_END}\n`;

describe('mergeSchemaFile', () => {
  it('puts the region at the end of the namespace block, whatever its layout', () => {
    expect(merge('namespace Shop {\n  entity User;\n}\n', 'Shop', [pet, getPet]).text).toBe(
      `namespace Shop {\n  entity User;\n\n${region(`  entity Pet;\n  ${getPet.text}\n`)}}\n`,
    );
    expect(merge('namespace Shop { entity User; }', 'Shop', [pet]).text).toBe(
      `namespace Shop { entity User; \n${region('  entity Pet;\n')}}`,
    );
    // No block for the namespace yet: a new one after the others; no namespace: at the top level.
    expect(merge('namespace Other { entity X; }\n', 'Shop', [pet]).text).toBe(
      `namespace Other { entity X; }\n\nnamespace Shop {\n${region('  entity Pet;\n')}}\n`,
    );
    const top = merge('entity User;\n', undefined, [pet, getPet]).text;
    expect(top).toBe(`entity User;\n\n${region(`entity Pet;\n${getPet.text}\n`, '')}`);
    expect(cedar.checkParseSchema(top).type).toBe('success');
  });

  it('replaces its own declarations, keeps edited ones in place and leaves out names declared elsewhere', () => {
    const previous = {
      'entity Pet': declarationFingerprint(pet.text),
      'action "getPet"': declarationFingerprint(getPet.text),
      'entity Gone': declarationFingerprint('entity Gone;'),
    };
    const existing = `namespace Shop {\n  entity User;\n${region(`  // pets have owners now\n  entity Pet in [User];\n  ${getPet.text.replace('appliesTo', '\n    appliesTo')}\n  entity Gone;\n`)}}\n`;
    const wantedGetPet = { ...getPet, text: getPet.text.replace('context: {}', 'context: { x?: Long }') };
    const result = merge(existing, 'Shop', [pet, wantedGetPet], previous);
    // Layout is not an edit: the reformatted getPet is still the import's and follows the document.
    expect(result.diff.changed).toEqual([
      { before: getPet.text.replace('appliesTo', '\n    appliesTo'), after: wantedGetPet.text },
    ]);
    expect(result.diff.removed).toEqual(['entity Gone;']);
    expect(result.diff.kept).toEqual([{ name: 'entity Pet', reason: 'edited by hand; kept', conflict: false }]);
    expect(result.text).toBe(
      `namespace Shop {\n  entity User;\n${region(`  // pets have owners now\n  entity Pet in [User];\n  ${wantedGetPet.text}\n`)}}\n`,
    );
    expect(result.state).toEqual({
      'entity Pet': previous['entity Pet'],
      'action "getPet"': declarationFingerprint(wantedGetPet.text),
    });
  });

  it('keeps a declaration the document dropped while something still names it', () => {
    const previous = { 'entity Pet': declarationFingerprint(pet.text) };
    const existing = `namespace Shop {\n${region('  entity Pet;\n')}}\n`;
    const result = merge(existing, 'Shop', [], previous, () => 'pets.cedar');
    expect(result.diff.kept).toEqual([
      { name: 'entity Pet', reason: 'no longer in the document, but pets.cedar still names it', conflict: true },
    ]);
    expect(result.text).toBe(existing);
  });
});
