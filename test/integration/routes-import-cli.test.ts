// `authzd routes import` as API teams run it: the built CLI on public descriptions shipped in npm
// packages (Swagger's petstore, GitHub's REST API) and on hand-written ones, then `authzd policy test` on
// the result. Needs `npx tsc -p .` (dist/) first.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { GITHUB_OPENAPI, OAS_EXAMPLES, OPENAPI_FIXTURES, policyDir, snapshot } from '../helpers/openapi-import.js';
import { CLI } from '../helpers/spawn-cli.js';

function authzd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function addPolicies(dir: string, name: string, cedarText: string, tests: string): void {
  writeFileSync(path.join(dir, name), cedarText);
  mkdirSync(path.join(dir, 'tests'), { recursive: true });
  writeFileSync(path.join(dir, 'tests', 'imported.yaml'), tests);
}

const NO_STACK = /\n\s+at .*:\d+:\d+/;

describe('authzd routes import', () => {
  it('imports the Swagger petstore (3.1) into a new directory; with two permits added, policy tests pass', async () => {
    const dir = policyDir();
    const doc = path.join(OAS_EXAMPLES, '3.1', 'yaml', 'petstore.yaml');

    const dry = await authzd(['routes', 'import', doc, '--policies', dir, '--namespace', 'Petstore', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      '  + get-pet-by-id: GET /v2/pet/{petId} -> action "getPetById" on Pet::"{petId}", risk low\n',
    );
    expect(dry.stdout).toContain(
      '  + @httpVerb("get") @httpPathTemplate("/v2/pet/{petId}") action "getPetById" in [read] appliesTo { principal: User, resource: Pet, context: HttpContext };\n',
    );
    expect(dry.stdout).toMatch(
      /\nroutes: 20 added, 0 changed, 0 removed, 0 kept by hand, 0 unchanged; .*\ndry run: nothing written\n$/,
    );
    expect(existsSync(dir)).toBe(false);

    const run = await authzd(['routes', 'import', doc, '--policies', dir, '--namespace', 'Petstore']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /\nwrote schema\.cedarschema, policies\.cedar, routes\.yaml, openapi-import\.state\.json\n$/,
    );

    // Deny by default: the starter file permits nothing.
    const empty = await authzd(['policy', 'test', dir]);
    expect(empty.stdout).toContain('no test files');

    addPolicies(
      dir,
      'pets.cedar',
      [
        '@id("read-with-scope")',
        'permit (principal, action in Petstore::Action::"read", resource)',
        'when { context has token && context.token.scope.contains("pets:read") };',
        '',
        '@id("users-manage-themselves")',
        'permit (principal, action in [Petstore::Action::"updateUser", Petstore::Action::"deleteUser"], resource is Petstore::User)',
        'when { resource == principal };',
        '',
      ].join('\n'),
      [
        '- name: reading a pet with the read scope',
        '  claims: { sub: alice, scope: "pets:read" }',
        '  method: GET',
        '  path: /v2/pet/42',
        '  expect: { decision: allow, policies: [read-with-scope] }',
        '- name: reading a pet without the scope',
        '  claims: { sub: alice }',
        '  method: GET',
        '  path: /v2/pet/42',
        '  expect: { decision: deny, reason: no_matching_permit }',
        '- name: the read scope does not delete',
        '  claims: { sub: alice, scope: "pets:read" }',
        '  method: DELETE',
        '  path: /v2/pet/42',
        '  expect: { decision: deny, reason: no_matching_permit }',
        '- name: a user updates her own record',
        '  claims: { sub: alice }',
        '  method: PUT',
        '  path: /v2/user/alice',
        '  expect: { decision: allow, policies: [users-manage-themselves] }',
        "- name: but not somebody else's",
        '  claims: { sub: alice }',
        '  method: PUT',
        '  path: /v2/user/bob',
        '  expect: { decision: deny, reason: no_matching_permit }',
        "- name: paths are routed with the server's base path",
        '  claims: { sub: alice, scope: "pets:read" }',
        '  method: GET',
        '  path: /pet/42',
        '  expect: { decision: deny, reason: route_not_found }',
        '',
      ].join('\n'),
    );
    const tests = await authzd(['policy', 'test', dir]);
    expect(tests.stdout).toContain('6 passed, 0 failed (6 cases in 1 file)');
    expect(tests.code).toBe(0);
  });

  it(
    "imports GitHub's REST API description: names the path it refuses, imports the rest with --skip-unsupported",
    { timeout: 240_000 },
    async () => {
      const dir = policyDir();
      const refused = await authzd(['routes', 'import', GITHUB_OPENAPI, '--policies', dir, '--namespace', 'GitHub']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(
        "\nrefused: authzd's router cannot serve these operations as the document describes them (--skip-unsupported imports the others)\n" +
          '  GET /repos/{owner}/{repo}/compare/{base}...{head}: segment "{base}...{head}" mixes a parameter with other text; authzd\'s parameters fill a whole segment\n',
      );
      expect(refused.stdout).toMatch(/\nrefused 1 operation: nothing written\n$/);
      expect(existsSync(dir)).toBe(false);

      const run = await authzd([
        'routes',
        'import',
        GITHUB_OPENAPI,
        '--policies',
        dir,
        '--namespace',
        'GitHub',
        '--skip-unsupported',
      ]);
      expect(run.code).toBe(0);
      const added = Number(/\nroutes: (\d+) added/.exec(run.stdout)![1]);
      expect(added).toBeGreaterThan(1000);
      expect(readFileSync(path.join(dir, 'routes.yaml'), 'utf8')).toContain(
        [
          '  - id: repos.get',
          '    method: GET',
          '    path: /repos/{owner}/{repo}',
          '    action: repos/get',
          '    resource: { type: Repo, id: "{owner}/{repo}" }',
          '    risk: low',
        ].join('\n'),
      );

      addPolicies(
        dir,
        'repos.cedar',
        [
          '@id("read-repos")',
          'permit (principal, action in GitHub::Action::"read", resource is GitHub::Repo)',
          'when { context has token && context.token.scope.contains("repo") };',
          '',
        ].join('\n'),
        [
          '- name: reading a repository with the repo scope',
          '  claims: { sub: octocat, scope: repo }',
          '  method: GET',
          '  path: /repos/octo/hello-world',
          '  expect: { decision: allow, policies: [read-repos] }',
          '- name: deleting it is not reading it',
          '  claims: { sub: octocat, scope: repo }',
          '  method: DELETE',
          '  path: /repos/octo/hello-world',
          '  expect: { decision: deny, reason: no_matching_permit }',
          '- name: an issue is not a repository',
          '  claims: { sub: octocat, scope: repo }',
          '  method: GET',
          '  path: /repos/octo/hello-world/issues/7',
          '  expect: { decision: deny, reason: no_matching_permit }',
          '- name: a path the description does not have has no route',
          '  claims: { sub: octocat, scope: repo }',
          '  method: GET',
          '  path: /repos/octo/hello-world/no-such-endpoint/x',
          '  expect: { decision: deny, reason: route_not_found }',
          '',
        ].join('\n'),
      );
      const tests = await authzd(['policy', 'test', dir]);
      expect(tests.stdout).toContain('4 passed, 0 failed (4 cases in 1 file)');
      expect(tests.code).toBe(0);
    },
  );

  it('re-imports a grown document into the example policies: shows the diff, changes only generated entries', async () => {
    const dir = policyDir(true);
    expect(
      (await authzd(['routes', 'import', path.join(OPENAPI_FIXTURES, 'bank-v1.yaml'), '--policies', dir])).code,
    ).toBe(0);
    const routesFile = path.join(dir, 'routes.yaml');
    writeFileSync(
      routesFile,
      readFileSync(routesFile, 'utf8').replace(/(  - id: get-statement\n(?: {4}.*\n)*? {4}risk: )low/, '$1high'),
    );
    const before = snapshot(dir);

    const dry = await authzd([
      'routes',
      'import',
      path.join(OPENAPI_FIXTURES, 'bank-v2.yaml'),
      '--policies',
      dir,
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    for (const line of [
      '  + latest-statement: GET /accounts/{accountId}/statements/latest -> action "latestStatement" on Account::"{accountId}", risk low',
      '  ~ list-statements: risk "low" -> "medium"',
      '  - delete-accounts-account-id-statements-statement-id (DELETE /accounts/{accountId}/statements/{statementId})',
      '  ! get-statement: edited by hand; kept, although the document changed it: it would now be action "getStatementById", risk "low"',
      '  - @httpVerb("delete") @httpPathTemplate("/accounts/{accountId}/statements/{statementId}") action "delete /accounts/{accountId}/statements/{statementId}" in [write] appliesTo { principal: User, resource: Statement, context: HttpContext };',
      'routes: 1 added, 1 changed, 1 removed, 1 kept by hand, 1 unchanged; schema: 1 added, 0 changed, 1 removed, 0 kept; 1 skipped, 0 refused',
    ]) {
      expect(dry.stdout).toContain(`${line}\n`);
    }

    const run = await authzd([
      'routes',
      'import',
      path.join(OPENAPI_FIXTURES, 'bank-v2.yaml'),
      '--policies',
      dir,
      '--output',
      'json',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      ok: true,
      dryRun: false,
      written: ['schema.cedarschema', 'routes.yaml', 'openapi-import.state.json'],
    });
    expect(report.routes.kept).toEqual([expect.objectContaining({ name: 'get-statement', conflict: true })]);
    const after = snapshot(dir);
    for (const [name, text] of before)
      if (!['routes.yaml', 'schema.cedarschema', 'openapi-import.state.json'].includes(name))
        expect(after.get(name), name).toBe(text);

    const tests = await authzd(['policy', 'test', dir]);
    expect(tests.code).toBe(0);
  });

  it.each([
    ['invalid.yaml', 'is not a valid OpenAPI 3.1.0 document:\n', "must have required property 'version'"],
    ['swagger-2.yaml', 'is a Swagger 2.0 document', 'swagger2openapi'],
    [
      'remote-ref.yaml',
      '2 $refs point at a URL; the import never fetches anything',
      '$ref "https://schemas.example.com/pet.json"',
    ],
    ['broken-syntax.yaml', 'broken-syntax.yaml:6:1: not valid YAML or JSON', 'Flow sequence'],
    ['missing.yaml', 'cannot read', 'ENOENT'],
    [
      'unsupported-paths.yaml',
      "refused: authzd's router cannot serve",
      'GET /files/{name}.{ext}: segment "{name}.{ext}" mixes a parameter with other text',
    ],
  ])('%s: a clear error, no stack trace, exit 1, nothing written', async (name, message, detail) => {
    const dir = policyDir();
    const r = await authzd(['routes', 'import', path.join(OPENAPI_FIXTURES, name), '--policies', dir]);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(message);
    expect(out).toContain(detail);
    expect(out).not.toMatch(NO_STACK);
    if (r.stderr !== '') expect(r.stderr.startsWith('authzd routes import: ')).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports errors as JSON with --output json', async () => {
    const r = await authzd([
      'routes',
      'import',
      path.join(OPENAPI_FIXTURES, 'swagger-2.yaml'),
      '--policies',
      policyDir(),
      '--output',
      'json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'document_unsupported' } });
  });

  it.each([
    [[], 'usage: authzd routes import'],
    [['import'], 'expected one OpenAPI file, got 0 arguments'],
    [['import', 'a.yaml', '--namespace', 'not a name'], '--namespace must be a Cedar name'],
    [['import', 'a.yaml', '--base-path', 'v1'], '--base-path must be a path beginning with "/"'],
    [['import', 'a.yaml', '--colour'], "Unknown option '--colour'"],
    [['export'], 'unknown routes subcommand "export"'],
  ])('usage error %j: exit 2', async (args, message) => {
    const r = await authzd(['routes', ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(message);
  });
});
