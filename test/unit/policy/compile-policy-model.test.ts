import { describe, expect, it } from 'vitest';

import { compilePolicyModel, PolicyModelError } from '../../../src/policy/compile-policy-model.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

const problems = (changes: Record<string, string | null>) => {
  try {
    compilePolicyModel(examplePolicyFiles(changes));
  } catch (err) {
    if (err instanceof PolicyModelError) return err.problems;
    throw err;
  }
  return [];
};

describe('compilePolicyModel', () => {
  it('compiles the example policies: ids from @id, routes, entities, schema', () => {
    const model = compilePolicyModel(examplePolicyFiles());
    expect(Object.keys(model.policies).sort()).toEqual(
      [
        'account-owner-read',
        'admin-export',
        'frozen-account',
        'ledger-to-core',
        'teller-read',
        'tenant-admin-billing',
        'tenant-isolation',
        'transfer-requires-mfa',
        'owner-transfer',
        'high-risk-write',
        'ledger-reads-accounts',
      ].sort(),
    );
    expect(model.policyInfo.get('frozen-account')).toMatchObject({ effect: 'forbid', file: 'transfers.cedar' });
    expect(model.routes.routes.map((r) => r.id)).toEqual([
      'get-account',
      'create-transfer',
      'export-customers',
      'update-billing-plan',
    ]);
    expect(model.mapping.principal.qualifiedType).toBe('Bank::User');
    expect(model.entities.get({ type: 'Bank::Account', id: 'acc-1001' })).toBeDefined();
    expect(model.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(model.warnings).toEqual([]);
  });

  it('derives the version from content: same files, same version; any change, a new one', () => {
    const a = compilePolicyModel(examplePolicyFiles()).version;
    expect(compilePolicyModel(examplePolicyFiles()).version).toBe(a);
    const changed = examplePolicyFiles({
      'extra.cedar': '@id("x") permit(principal, action == Bank::Action::"readAccount", resource) when { false };',
    });
    expect(compilePolicyModel(changed).version).not.toBe(a);
    expect(compilePolicyModel(examplePolicyFiles(), 'rev-42').version).toBe('rev-42');
  });

  it('rejects a policy that does not parse, naming the file, line and column, and what was expected there', () => {
    expect(problems({ 'broken.cedar': 'permit(principal, action, resource) when { ' })).toEqual([
      expect.stringMatching(/^broken.cedar:1:\d+: /),
    ]);
    // Lines and columns count characters of the file (cedar-wasm reports UTF-8 byte offsets).
    const bad = 'forbid (principal, action, resource) when { context.note == "Überweisung für Müller" && 1 + };';
    const text = `// Überweisungen: nur für Kontoinhaber\n@id("ok") permit(principal, action, resource) when { false };\n\n@id("bad")\n${bad}\n`;
    expect(problems({ 'broken.cedar': text })).toEqual([
      expect.stringMatching(
        new RegExp(`^broken\\.cedar:5:${bad.indexOf('}') + 1}: unexpected token \`}\` \\(expected .+\\)$`),
      ),
    ]);
  });

  it('rejects a broken schema once, with the line and column of the error', () => {
    const schema = examplePolicyFiles().get('schema.cedarschema')!;
    const broken = `${schema}\nentity Broken {\n  field: ,\n};\n`;
    const line = schema.split('\n').length + 2;
    expect(problems({ 'schema.cedarschema': broken })).toEqual([
      expect.stringMatching(new RegExp(`^schema\\.cedarschema:${line}:10: `)),
    ]);
  });

  it('rejects a policy that fails strict validation against the schema, pointing into its file', () => {
    const p = problems({
      'typo.cedar':
        '// reads\n\n@id("typo") permit(principal, action == Bank::Action::"readAccount", resource is Bank::Account) when { resource.ownr == principal };',
    });
    expect(p).toEqual([expect.stringMatching(/^typo.cedar:3:\d+: typo: .*ownr/)]);
  });

  it('rejects duplicate and malformed ids', () => {
    expect(problems({ 'dup.cedar': '@id("teller-read") permit(principal, action, resource) when { false };' })).toEqual(
      [expect.stringContaining('duplicate policy id "teller-read"')],
    );
    expect(
      problems({ 'bad.cedar': '@id("has space") permit(principal, action, resource) when { false };' })[0],
    ).toMatch(/policy id "has space"/);
  });

  it('names a policy without @id after its file and position, with a warning', () => {
    const model = compilePolicyModel(
      examplePolicyFiles({
        'anon.cedar':
          'permit(principal, action == Bank::Action::"readAccount", resource) when { context has token && context.token.sub == "x" };',
      }),
    );
    expect(model.policies['anon#0']).toBeDefined();
    expect(model.warnings).toEqual([expect.stringContaining('no @id')]);
  });

  it("passes on the validator's warnings (an impossible policy)", () => {
    const model = compilePolicyModel(
      examplePolicyFiles({
        'dead.cedar': '@id("dead") permit(principal, action == Bank::Action::"readAccount", resource) when { false };',
      }),
    );
    expect(model.warnings).toEqual([expect.stringContaining('policy is impossible')]);
  });

  it('rejects entities that do not conform to the schema', () => {
    const entities = JSON.stringify([{ uid: { type: 'Bank::Account', id: 'x' }, attrs: { tenant: 7 }, parents: [] }]);
    expect(problems({ 'entities.json': entities })[0]).toMatch(/^entities.json: /);
    expect(problems({ 'entities.json': '[' })[0]).toMatch(/entities.json: invalid JSON/);
  });

  it('rejects routes whose action or resource type the schema does not allow', () => {
    const routes = examplePolicyFiles().get('routes.yaml')!;
    expect(problems({ 'routes.yaml': routes.replace('action: readAccount', 'action: readAcount') })).toEqual([
      expect.stringContaining('route get-account: action Bank::Action::"readAcount" is not in the schema'),
    ]);
    expect(
      problems({
        'routes.yaml': routes.replace(
          'resource: { type: Account, id: "{id}" }\n    risk: low',
          'resource: { type: Tenant, id: "{id}" }\n    risk: low',
        ),
      }),
    ).toEqual([expect.stringContaining('does not apply to resource type Bank::Tenant')]);
  });

  it('rejects unknown keys and a missing routes.yaml', () => {
    const routes = examplePolicyFiles().get('routes.yaml')!;
    expect(problems({ 'routes.yaml': `${routes}\nroutez: []\n` })).toEqual([
      expect.stringContaining('Unrecognized key: "routez"'),
    ]);
    expect(problems({ 'routes.yaml': null })).toContain('routes.yaml: missing');
    expect(
      problems({ 'accounts.cedar': null, 'tenants.cedar': null, 'transfers.cedar': null, 'workloads.cedar': null }),
    ).toContain('no *.cedar files');
  });

  it('works without a schema (no validation; action groups come from entities.json)', () => {
    const entities = JSON.parse(examplePolicyFiles().get('entities.json')!);
    entities.push({
      uid: { type: 'Bank::Action', id: 'readAccount' },
      attrs: {},
      parents: [{ type: 'Bank::Action', id: 'read' }],
    });
    const model = compilePolicyModel(
      examplePolicyFiles({ 'schema.cedarschema': null, 'entities.json': JSON.stringify(entities) }),
    );
    expect(model.schema).toBeUndefined();
    expect(model.entities.get({ type: 'Bank::Action', id: 'readAccount' })).toBeDefined();
  });
});

describe('@stepUp annotations', () => {
  it('are parsed on forbids and refused elsewhere or malformed', () => {
    const model = compilePolicyModel(examplePolicyFiles());
    expect(model.policyInfo.get('transfer-requires-mfa')!.stepUp).toEqual({ acrValues: 'mfa', maxAge: 3600 });
    expect(
      problems({
        'p.cedar':
          '@id("x") @stepUp("acr=mfa") permit(principal, action == Bank::Action::"readAccount", resource) when { context has token };',
      })[0],
    ).toMatch(/belongs on a forbid/);
    expect(
      problems({
        'p.cedar':
          '@id("x") @stepUp("level=9") forbid(principal, action == Bank::Action::"readAccount", resource) when { context has token };',
      })[0],
    ).toMatch(/@stepUp: unexpected "level=9"/);
  });
});
