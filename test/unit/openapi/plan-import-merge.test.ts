// Importing into a directory people already work in: the example policy set, then a grown document.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { OpenApiImportError } from '../../../src/openapi/openapi-import-error.js';
import { planImport } from '../../../src/openapi/plan-import.js';
import { REGION_BEGIN, REGION_END } from '../../../src/openapi/schema-layout.js';
import { readPolicyTests } from '../../../src/policy-test/read-policy-tests.js';
import { runPolicyTests } from '../../../src/policy-test/run-policy-tests.js';
import {
  compileDir,
  importInto,
  OPENAPI_FIXTURES,
  policyDir,
  read,
  routesOf,
  snapshot,
} from '../../helpers/openapi-import.js';
import { EXAMPLE_POLICIES } from '../../helpers/policy-files.js';

const V1 = path.join(OPENAPI_FIXTURES, 'bank-v1.yaml');
const V2 = path.join(OPENAPI_FIXTURES, 'bank-v2.yaml');
const plan = (doc: string, dir: string) =>
  planImport({ documentFile: doc, policyDir: dir, basePath: undefined, namespace: undefined });
const write = (dir: string, name: string, text: string) => writeFileSync(path.join(dir, name), text);
const region = (schema: string) => schema.slice(schema.indexOf(REGION_BEGIN), schema.indexOf(REGION_END));

async function examplesPass(dir: string): Promise<void> {
  const report = await runPolicyTests(await compileDir(dir), await readPolicyTests(dir));
  expect(report.cases.filter((c) => !c.passed).map((c) => c.name)).toEqual([]);
  expect(report.totals.cases).toBeGreaterThan(30);
}

describe('importing into the example policy set', () => {
  it('adds only what came from the document; hand-written routes, schema and policies stay byte for byte', async () => {
    const dir = policyDir(true);
    const before = snapshot(dir);
    const result = await importInto(V1, dir);

    expect(result.report.routes.added.map((r) => r.id)).toEqual([
      'list-statements',
      'get-statement',
      'delete-accounts-account-id-statements-statement-id',
      'read-audit-log',
    ]);
    expect(result.report.skipped).toEqual([
      { method: 'GET', path: '/accounts/{id}', reason: 'served by the hand-written route get-account' },
    ]);
    const after = snapshot(dir);
    for (const [name, text] of before) {
      if (name === 'routes.yaml' || name === 'schema.cedarschema') continue;
      expect(after.get(name), name).toBe(text);
    }
    expect(read(dir, 'routes.yaml').startsWith(before.get('routes.yaml')!)).toBe(true);
    const schema = read(dir, 'schema.cedarschema');
    const generated = schema.slice(
      schema.indexOf(`  ${REGION_BEGIN}`) - 1,
      schema.indexOf(REGION_END) + REGION_END.length + 1,
    );
    expect(schema.replace(generated, '')).toBe(before.get('schema.cedarschema'));
    // The example's own types and groups are used, not declared again.
    expect(region(schema)).not.toMatch(/entity (Account|Tenant|User);|action (read|write);/);
    expect(region(schema)).toContain(
      'action "listStatements" in [read] appliesTo { principal: User, resource: Account, context: HttpContext };',
    );
    expect(region(schema)).toContain(
      'action "readAuditLog" in [read] appliesTo { principal: User, resource: Tenant, context: HttpContext };',
    );
    // The example's tenant-isolation forbid covers read and write, so the new actions fall under it.
    await examplesPass(dir);
  });

  it('re-imports a grown document: the diff shows it, generated entries follow it, hand edits stay and conflicts are named', async () => {
    const dir = policyDir(true);
    await importInto(V1, dir);
    const original = readFileSync(path.join(EXAMPLE_POLICIES, 'routes.yaml'), 'utf8');

    // People edit: a risk raised with a comment, a comment above an untouched entry, a route deleted,
    // a generated declaration given attributes, and a policy naming a generated action.
    let routes = read(dir, 'routes.yaml');
    routes = routes.replace(
      /(  - id: get-statement\n(?: {4}.*\n)*? {4}risk: )low\n/,
      '$1high   # statements hold balances: never cached\n',
    );
    routes = routes.replace(
      '  - id: list-statements\n',
      '  # listing is cheap, reading one is not\n  - id: list-statements\n',
    );
    routes = routes.replace(/\n {2}- id: read-audit-log\n(?: {4}.*\n)*/, '\n');
    write(dir, 'routes.yaml', routes);
    write(
      dir,
      'schema.cedarschema',
      read(dir, 'schema.cedarschema').replace(
        '  entity Statement;\n',
        '  entity Statement in [Account] = { tenant: String };\n',
      ),
    );
    write(
      dir,
      'statements.cedar',
      '@id("no-statement-deletes")\nforbid (principal, action == Bank::Action::"delete /accounts/{accountId}/statements/{statementId}", resource);\n',
    );
    const edited = snapshot(dir);

    const dry = await plan(V2, dir);
    expect(snapshot(dir)).toEqual(edited);
    const { routes: r, schema: s } = dry.report;
    expect(r.added.map((x) => x.id)).toEqual(['latest-statement']);
    expect(r.changed).toEqual([
      {
        before: expect.objectContaining({ id: 'list-statements', risk: 'low' }),
        after: expect.objectContaining({ id: 'list-statements', risk: 'medium' }),
      },
    ]);
    expect(r.removed.map((x) => x.id)).toEqual(['delete-accounts-account-id-statements-statement-id']);
    expect(r.kept).toEqual([
      {
        name: 'get-statement',
        reason:
          'edited by hand; kept, although the document changed it: it would now be action "getStatementById", risk "low"',
        conflict: true,
      },
      {
        name: 'read-audit-log',
        reason: 'deleted from routes.yaml by hand; GET /tenants/{tenant}/audit-log is not added again',
        conflict: false,
      },
    ]);
    expect(s.added).toEqual([expect.stringContaining('action "latestStatement" in [read]')]);
    expect(s.removed).toEqual([expect.stringContaining('action "readAuditLog"')]);
    expect(s.kept).toEqual([
      { name: 'entity Statement', reason: 'edited by hand; kept', conflict: false },
      {
        name: 'action "delete /accounts/{accountId}/statements/{statementId}"',
        reason: 'no longer in the document, but statements.cedar still names it',
        conflict: true,
      },
    ]);

    await importInto(V2, dir);
    const now = read(dir, 'routes.yaml');
    // Hand-written entries, and the comments and edits people made, byte for byte.
    expect(now.startsWith(original)).toBe(true);
    expect(now).toContain('    risk: high   # statements hold balances: never cached\n');
    expect(now).toContain('  # listing is cheap, reading one is not\n  - id: list-statements\n');
    expect(read(dir, 'schema.cedarschema')).toContain('  entity Statement in [Account] = { tenant: String };\n');
    expect(read(dir, 'statements.cedar')).toBe(edited.get('statements.cedar'));
    // The concrete path goes before the templated one that would otherwise take its requests.
    expect(
      routesOf(dir)
        .map((x) => x.id)
        .slice(4),
    ).toEqual(['list-statements', 'latest-statement', 'get-statement']);
    expect(routesOf(dir).find((x) => x.id === 'list-statements')!.risk).toBe('medium');
    const model = await compileDir(dir);
    expect(model.routes.match('GET', ['accounts', 'acc-1', 'statements', 'latest'])!.route.id).toBe('latest-statement');
    await examplesPass(dir);

    // And again: nothing left to do, the hand edit is still reported as kept.
    const again = await plan(V2, dir);
    expect(again.writes.size).toBe(0);
    expect(again.report.routes.kept.map((k) => [k.name, k.conflict])).toEqual([
      ['get-statement', false],
      ['read-audit-log', false],
    ]);
  });

  it("a declaration moved out of the generated region becomes the person's", async () => {
    const dir = policyDir(true);
    await importInto(V1, dir);
    const schema = read(dir, 'schema.cedarschema')
      .replace('  entity Statement;\n', '')
      .replace('  entity Service;\n', '  entity Service;\n  entity Statement in [Account];\n');
    write(dir, 'schema.cedarschema', schema);
    const result = await importInto(V1, dir);
    expect(result.report.schema.kept).toEqual([
      {
        name: 'entity Statement',
        reason: 'now declared by hand outside the generated region; the generated one is gone',
        conflict: false,
      },
    ]);
    expect(read(dir, 'schema.cedarschema')).toContain('  entity Statement in [Account];\n');
    expect(region(read(dir, 'schema.cedarschema'))).not.toContain('entity Statement');
    await compileDir(dir);
  });

  it('writes nothing when the merged set would not compile, and says why', async () => {
    const dir = policyDir(true);
    const schema = read(dir, 'schema.cedarschema').replace(
      '  action connect',
      '  action listStatements appliesTo { principal: User, resource: Tenant, context: HttpContext };\n  action connect',
    );
    write(dir, 'schema.cedarschema', schema);
    const before = snapshot(dir);
    const err = (await plan(V1, dir).catch((e: unknown) => e)) as OpenApiImportError;
    expect(err).toBeInstanceOf(OpenApiImportError);
    expect(err.code).toBe('result_does_not_compile');
    expect(err.details).toContain(
      'routes.yaml: route list-statements: Bank::Action::"listStatements" does not apply to resource type Bank::Account',
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('counts every existing route as hand-written when the state file is gone', async () => {
    const dir = policyDir(true);
    await importInto(V1, dir);
    rmSync(path.join(dir, 'openapi-import.state.json'));
    const result = await plan(V2, dir);
    expect(result.report.routes.changed).toEqual([]);
    expect(result.report.routes.removed).toEqual([]);
    expect(result.report.skipped.map((n) => n.reason)).toContain('served by the hand-written route list-statements');
  });

  it('refuses a state file it did not write', async () => {
    const dir = policyDir(true);
    write(dir, 'openapi-import.state.json', '{"version": 2}');
    const err = (await plan(V1, dir).catch((e: unknown) => e)) as OpenApiImportError;
    expect(err.code).toBe('policy_dir_invalid');
    expect(err.message).toContain('openapi-import.state.json is not a state file authzd routes import wrote');
  });
});
