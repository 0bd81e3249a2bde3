// docs/openapi.md against the code: its lists both ways, and its examples really do what it says.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { IMPORT_OPTIONS } from '../../../src/cli/routes-command.js';
import { OperationExtensionSchema, PathItemExtensionSchema } from '../../../src/openapi/authzd-extension.js';
import { formatImportReport } from '../../../src/openapi/format-import-report.js';
import { OPENAPI_IMPORT_ERRORS } from '../../../src/openapi/openapi-import-error.js';
import { readPolicyTests } from '../../../src/policy-test/read-policy-tests.js';
import { runPolicyTests } from '../../../src/policy-test/run-policy-tests.js';
import { compileDir, importInto, OAS_EXAMPLES, OPENAPI_FIXTURES, policyDir } from '../../helpers/openapi-import.js';
import { documentedKeys, schemaKeys } from '../../helpers/schema-keys.js';

const doc = readFileSync(new URL('../../../docs/openapi.md', import.meta.url), 'utf8');
const section = (heading: string) => doc.split(`\n## ${heading}\n`)[1].split('\n## ')[0];
const blocks = (text: string, lang: string) =>
  [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('docs/openapi.md matches the code', () => {
  it('lists every flag of authzd routes import and no other', () => {
    expect(sorted(documentedKeys(section('Usage')))).toEqual(sorted(Object.keys(IMPORT_OPTIONS).map((k) => `--${k}`)));
  });

  it('lists every x-authzd key and no other', () => {
    expect(sorted(documentedKeys(section('x-authzd')))).toEqual(sorted(schemaKeys(OperationExtensionSchema)));
  });

  it('lists every error code and no other', () => {
    expect(sorted(documentedKeys(section('Errors')))).toEqual(sorted(OPENAPI_IMPORT_ERRORS));
  });

  it('shows x-authzd extensions that are valid where they are written', () => {
    const example = parseYaml(blocks(section('x-authzd'), 'yaml')[0]) as {
      paths: Record<string, Record<string, { 'x-authzd'?: unknown }>>;
    };
    let checked = 0;
    for (const item of Object.values(example.paths)) {
      for (const [key, value] of Object.entries(item)) {
        if (key === 'x-authzd') expect(PathItemExtensionSchema.safeParse(value).success).toBe(true);
        else if (value['x-authzd'] !== undefined)
          expect(OperationExtensionSchema.safeParse(value['x-authzd']).success).toBe(true);
        else continue;
        checked++;
      }
    }
    expect(checked).toBe(4);
  });

  it('shows the output a re-import really prints', async () => {
    const dir = policyDir(true);
    await importInto(path.join(OPENAPI_FIXTURES, 'bank-v1.yaml'), dir);
    const routes = path.join(dir, 'routes.yaml');
    writeFileSync(
      routes,
      readFileSync(routes, 'utf8').replace(/(  - id: get-statement\n(?: {4}.*\n)*? {4}risk: )low/, '$1high'),
    );
    const plan = await importInto(path.join(OPENAPI_FIXTURES, 'bank-v2.yaml'), dir);
    const printed = formatImportReport(plan.report, {
      kind: 'written',
      files: [...plan.writes.keys()].sort((a, b) => order(a) - order(b)),
    });
    const documented = section('Usage')
      .split('What it prints')[1]
      .match(/```\n([\s\S]*?)```/)![1];
    // All but the first line, which names the directory.
    expect(printed.split('\n').slice(1)).toEqual(documented.split('\n').slice(1));
  });

  it('shows permits and a test case that pass on the imported petstore', async () => {
    const dir = policyDir();
    await importInto(path.join(OAS_EXAMPLES, '3.1', 'yaml', 'petstore.yaml'), dir, { namespace: 'Petstore' });
    writeFileSync(path.join(dir, 'pets.cedar'), blocks(section('Adding permits'), 'cedar')[0]);
    mkdirSync(path.join(dir, 'tests'));
    writeFileSync(path.join(dir, 'tests', 'pets.yaml'), blocks(section('Adding permits'), 'yaml')[0]);
    const report = await runPolicyTests(await compileDir(dir), await readPolicyTests(dir));
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ cases: 1, passed: 1 });
  });
});

function order(name: string): number {
  return ['schema.cedarschema', 'routes.yaml', 'openapi-import.state.json'].indexOf(name);
}
