// Requests a security review found authzd deciding differently from Cedar evaluated plainly (issue 11), each
// pinned here through the Check pipeline: entities reached through attributes, literals, records, sets,
// context and tags left out of what Cedar saw; policy slices dropping forbids on action groups of other
// namespaces; path parameters; one subject from two issuers; cached fallbacks; unknown resources reported as
// policy defects; step-up max_age announced but not checked.
import { beforeAll, describe, expect, it } from 'vitest';

import { CheckPipeline, type PipelineDeps } from '../../../src/check/check-pipeline.js';
import { DecisionCache } from '../../../src/check/decision-cache.js';
import type { RemoteDecider } from '../../../src/check/remote-decider.js';
import { type ConfigInput, ConfigSchema } from '../../../src/config/config-schema.js';
import type { Decision } from '../../../src/contract/decision.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel, type PolicyModelError } from '../../../src/policy/compile-policy-model.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { httpCheckRequest } from '../../helpers/test-authzd.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

const EXAMPLE = examplePolicyFiles();
const SCHEMA = EXAMPLE.get('schema.cedarschema')!;
const ENTITIES = JSON.parse(EXAMPLE.get('entities.json')!) as unknown[];
const user = (id: string, attrs: Record<string, unknown> = {}, roles: string[] = []) => ({
  uid: { type: 'Bank::User', id },
  attrs: { tenant: 'acme', ...attrs },
  parents: [{ type: 'Bank::Tenant', id: 'acme' }, ...roles.map((r) => ({ type: 'Bank::Role', id: r }))],
});
const account = (id: string, owner: string, extra: Record<string, unknown> = {}) => ({
  uid: { type: 'Bank::Account', id },
  attrs: { tenant: 'acme', owner: { __entity: { type: 'Bank::User', id: owner } }, status: 'open', ...extra },
  parents: [{ type: 'Bank::Tenant', id: 'acme' }],
});

/** The example set with a richer User (closedAt, branch, manager, delegates) and a few more entities. */
function richer(policies: Record<string, string>, entities: unknown[] = [], schema = SCHEMA) {
  return examplePolicyFiles({
    'schema.cedarschema': schema
      .replace(
        'entity User in [Role, Tenant] = { tenant: String, email?: String };',
        'entity User in [Role, Tenant] = { tenant: String, email?: String, closedAt?: Long, branch?: String, manager?: User, delegates?: Set<User>, profile?: { boss: User } } tags String;',
      )
      .replace('entity Role in [Role];', 'entity Role in [Role];\n  entity Branch = { region: String };'),
    'entities.json': JSON.stringify([
      ...ENTITIES,
      { uid: { type: 'Bank::Role', id: 'employee' }, attrs: {}, parents: [] },
      ...entities,
    ]),
    ...policies,
  });
}

function pipeline(files: Map<string, string>, overrides: ConfigInput = {}, deps: Partial<PipelineDeps> = {}) {
  const config = testConfig(issuer, overrides);
  const engine = new CedarWasmEngine({
    validateRequests: true,
    slicing: config.policies.slicing,
    maxRequestEntities: config.policies.maxRequestEntities,
  });
  const store = new PolicyStore(engine);
  store.activate(compilePolicyModel(files));
  const verifier = new TokenVerifier(config.tokens, { now: Date.now });
  let n = 0;
  return new CheckPipeline({ config, store, engine, verifier, now: Date.now, newId: () => `id-${++n}`, ...deps });
}

async function decide(p: CheckPipeline, request: Record<string, unknown>): Promise<Decision> {
  const outcome = await p.check(request);
  if (outcome.kind !== 'decision') throw new Error(`expected a decision, got ${JSON.stringify(outcome)}`);
  return outcome.decision;
}

const teller = () => issuer.sign({ sub: 'bob', roles: ['teller'] });
const read = async (p: CheckPipeline, id: string, token?: string) =>
  decide(p, httpCheckRequest({ path: `/accounts/${id}`, token: token ?? (await teller()) }));

describe('1. entities reached through attributes are what Cedar sees', () => {
  const entities = [
    user('emp', {}, ['employee']),
    user('gone', { closedAt: 1700000000 }),
    user('boss', {}, ['employee']),
    user('worker', {
      manager: { __entity: { type: 'Bank::User', id: 'boss' } },
      delegates: [{ __entity: { type: 'Bank::User', id: 'emp' } }],
      profile: { boss: { __entity: { type: 'Bank::User', id: 'boss' } } },
    }),
    user('tagged', {}),
    { ...user('root', {}), tags: { clearance: 'revoked' } },
    account('acc-emp', 'emp'),
    account('acc-gone', 'gone'),
    account('acc-worker', 'worker'),
    account('acc-tagged', 'tagged'),
  ];
  // Each forbid reads an entity other than the principal and the resource; bob, a teller of acme, reads
  // accounts of acme (teller-read permits), so only these forbids can deny.
  const forbid = (id: string, condition: string) => ({
    [`${id}.cedar`]: `@id("${id}") forbid (principal, action == Bank::Action::"readAccount", resource is Bank::Account) when { ${condition} };`,
  });

  it("an owner's role (resource.owner in Role): the forbid applies", async () => {
    const p = pipeline(richer(forbid('employee-accounts', 'resource.owner in Bank::Role::"employee"'), entities));
    expect(await read(p, 'acc-emp')).toMatchObject({
      allowed: false,
      reason: 'policy_denied',
      policies: ['employee-accounts'],
    });
    expect(await read(p, 'acc-gone')).toMatchObject({ allowed: true, policies: ['teller-read'] });
  });

  it("an owner's optional attribute (resource.owner has closedAt): the forbid applies", async () => {
    const p = pipeline(richer(forbid('closed-customers', 'resource.owner has closedAt'), entities));
    expect(await read(p, 'acc-gone')).toMatchObject({ allowed: false, policies: ['closed-customers'] });
    expect(await read(p, 'acc-emp')).toMatchObject({ allowed: true });
  });

  it('two hops (resource.owner.manager), records (resource.owner.profile.boss) and sets (delegates)', async () => {
    const hops = pipeline(
      richer(
        forbid('managed-by-employee', 'resource.owner has manager && resource.owner.manager in Bank::Role::"employee"'),
        entities,
      ),
    );
    expect(await read(hops, 'acc-worker')).toMatchObject({ allowed: false, policies: ['managed-by-employee'] });
    const record = pipeline(
      richer(
        forbid('boss-employee', 'resource.owner has profile && resource.owner.profile.boss in Bank::Role::"employee"'),
        entities,
      ),
    );
    expect(await read(record, 'acc-worker')).toMatchObject({ allowed: false, policies: ['boss-employee'] });
    const set = pipeline(
      richer(
        forbid(
          'delegates-employee',
          'resource.owner has delegates && resource.owner.delegates.containsAny([Bank::User::"emp"]) && Bank::User::"emp" in Bank::Role::"employee"',
        ),
        entities,
      ),
    );
    expect(await read(set, 'acc-worker')).toMatchObject({ allowed: false, policies: ['delegates-employee'] });
  });

  it('an entity literal written in a policy, and tags', async () => {
    const literal = pipeline(
      richer(
        forbid(
          'root-revoked',
          'Bank::User::"root".hasTag("clearance") && Bank::User::"root".getTag("clearance") == "revoked"',
        ),
        entities,
      ),
    );
    expect(await read(literal, 'acc-emp')).toMatchObject({ allowed: false, policies: ['root-revoked'] });
    const literalIn = pipeline(
      richer(
        forbid('emp-is-employee', 'Bank::User::"emp" in Bank::Role::"employee" && resource.owner == Bank::User::"emp"'),
        entities,
      ),
    );
    expect(await read(literalIn, 'acc-emp')).toMatchObject({ allowed: false, policies: ['emp-is-employee'] });
  });

  it('the reverse: a permit that reads the owner no longer wrongly denies', async () => {
    const files = richer(
      {
        'branch.cedar':
          '@id("same-branch") permit (principal, action == Bank::Action::"readAccount", resource is Bank::Account) when { principal has branch && resource.owner has branch && resource.owner.branch == principal.branch };',
      },
      [user('carol', { branch: 'north' }), user('dan', { branch: 'north' }), account('acc-dan', 'dan')],
    );
    const d = await read(pipeline(files), 'acc-dan', await issuer.sign({ sub: 'carol', roles: [] }));
    expect(d).toMatchObject({ allowed: true, policies: ['same-branch'] });
  });

  it('also with policies.slicing off', async () => {
    const p = pipeline(richer(forbid('employee-accounts', 'resource.owner in Bank::Role::"employee"'), entities), {
      policies: { slicing: false },
    });
    expect(await read(p, 'acc-emp')).toMatchObject({ allowed: false, policies: ['employee-accounts'] });
  });

  it('past policies.maxRequestEntities the request is denied, never evaluated against a truncated store', async () => {
    const p = pipeline(richer(forbid('employee-accounts', 'resource.owner in Bank::Role::"employee"'), entities), {
      policies: { maxRequestEntities: 3 },
    });
    expect(await read(p, 'acc-emp')).toMatchObject({ allowed: false, reason: 'entity_limit_exceeded', policies: [] });
  });
});

describe('2. policy slices keep forbids on action groups of every namespace', () => {
  const readsForbid = {
    'maintenance.cedar': '@id("no-reads") forbid (principal, action in Shared::Action::"reads", resource);',
  };

  it('(a) a group declared in another namespace', async () => {
    const schema = `namespace Shared { action reads; }\n${SCHEMA.replace('action readAccount in [read]', 'action readAccount in [read, Shared::Action::"reads"]')}`;
    const p = pipeline(examplePolicyFiles({ 'schema.cedarschema': schema, ...readsForbid }));
    expect(
      await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: await issuer.sign({ sub: 'alice' }) })),
    ).toMatchObject({ allowed: false, policies: ['no-reads'] });
  });

  it('(b) a namespace sorting after the routes one, declaring an action of the same name without groups', async () => {
    const schema = `namespace Shared { action reads; }\n${SCHEMA.replace('action readAccount in [read]', 'action readAccount in [read, Shared::Action::"reads"]')}\nnamespace Zoo { action readAccount; }\n`;
    const p = pipeline(examplePolicyFiles({ 'schema.cedarschema': schema, ...readsForbid }));
    expect(
      await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: await issuer.sign({ sub: 'alice' }) })),
    ).toMatchObject({ allowed: false, policies: ['no-reads'] });
  });

  it('(c) no schema: the group comes from entities.json', async () => {
    const entities = [
      ...ENTITIES,
      {
        uid: { type: 'Bank::Action', id: 'readAccount' },
        attrs: {},
        parents: [{ type: 'Shared::Action', id: 'reads' }],
      },
      { uid: { type: 'Shared::Action', id: 'reads' }, attrs: {}, parents: [] },
    ];
    const p = pipeline(
      examplePolicyFiles({ 'schema.cedarschema': null, 'entities.json': JSON.stringify(entities), ...readsForbid }),
    );
    expect(
      await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: await issuer.sign({ sub: 'alice' }) })),
    ).toMatchObject({ allowed: false, policies: ['no-reads'] });
  });
});

describe('3. path parameters', () => {
  it('refuses ..; and .; always, and ; in a segment unless paths.allowSemicolons', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const p = pipeline(EXAMPLE);
    for (const path of [
      '/accounts/..;/tenants/acme/billing-plan',
      '/accounts/.;x/acc-1001',
      '/accounts/acc-1001;v=1',
      '/accounts/acc-1001%3Bv=1',
    ]) {
      expect(await decide(p, httpCheckRequest({ path, token })), path).toMatchObject({
        allowed: false,
        reason: 'path_invalid',
      });
    }
    const allowing = pipeline(EXAMPLE, { paths: { allowSemicolons: true } });
    expect(await decide(allowing, httpCheckRequest({ path: '/accounts/..;/x', token }))).toMatchObject({
      reason: 'path_invalid',
    });
    // Allowed, the parameter stays in the resource id (no such account here).
    expect(await decide(allowing, httpCheckRequest({ path: '/accounts/acc-1001;v=1', token }))).toMatchObject({
      allowed: false,
      resource: { id: 'acc-1001;v=1' },
    });
  });
});

describe('4. one subject from two issuers is two principals', () => {
  const twoIssuers = async (second: Record<string, unknown>) => {
    const other = await createTestIssuer();
    return {
      other,
      input: {
        tokens: {
          issuers: [
            { issuer: ISSUER, audiences: [AUDIENCE], jwksFile: issuer.jwksFile },
            { issuer: 'https://partner.example', audiences: [AUDIENCE], jwksFile: other.jwksFile, ...second },
          ],
        },
      },
    };
  };

  it('refuses a configuration where two issuers could name the same principal', async () => {
    const { input } = await twoIssuers({});
    const parsed = ConfigSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/could name the same principal/);
    expect(ConfigSchema.safeParse((await twoIssuers({ principal: { idPrefix: 'partner|' } })).input).success).toBe(
      false,
    );
    expect(
      ConfigSchema.safeParse({
        tokens: {
          issuers: [
            { ...input.tokens.issuers[0], principal: { idPrefix: 'a|' } },
            { ...input.tokens.issuers[1], principal: { idPrefix: 'a|b' } },
          ],
        },
      }).success,
    ).toBe(false);
    expect(
      ConfigSchema.safeParse({
        tokens: {
          issuers: [
            { ...input.tokens.issuers[0], principal: { idPrefix: 'a|' } },
            { ...input.tokens.issuers[1], principal: { idPrefix: 'b|' } },
          ],
        },
      }).success,
    ).toBe(true);
    expect(
      ConfigSchema.safeParse({
        tokens: {
          issuers: [{ ...input.tokens.issuers[0] }, { ...input.tokens.issuers[1], principal: { type: 'Partner' } }],
        },
      }).success,
    ).toBe(true);
  });

  it("a second issuer's alice is not the first issuer's alice", async () => {
    // An empty prefix beside "partner|" would collide too: the first issuer's "partner|alice" is the
    // second's "alice". So both get a prefix; the first one's users are in entities.json under it.
    const { other, input } = await twoIssuers({ principal: { idPrefix: 'partner|', roles: false } });
    const entities = ENTITIES.map((e) => JSON.parse(JSON.stringify(e).replaceAll('"id":"alice"', '"id":"bank|alice"')));
    const files = examplePolicyFiles({ 'entities.json': JSON.stringify(entities) });
    const p = pipeline(files, {
      tokens: {
        issuers: [{ ...input.tokens.issuers[0], principal: { idPrefix: 'bank|' } }, input.tokens.issuers[1]],
      },
    });
    const own = await decide(
      p,
      httpCheckRequest({ path: '/accounts/acc-1001', token: await issuer.sign({ sub: 'alice' }) }),
    );
    expect(own).toMatchObject({
      allowed: true,
      principal: { type: 'Bank::User', id: 'bank|alice' },
      policies: ['account-owner-read'],
    });
    const partnerToken = await other.sign({ sub: 'alice', iss: 'https://partner.example', roles: ['teller'] });
    const partner = await decide(p, httpCheckRequest({ path: '/accounts/acc-1001', token: partnerToken }));
    expect(partner).toMatchObject({ allowed: false, principal: { type: 'Bank::User', id: 'partner|alice' } });
    // principal.roles: false — the partner's roles claim does not make a teller.
    expect(partner.input?.principalEntity?.parents).toEqual([]);
  });

  it('refuses routes where token subjects and workloads would share a principal type', () => {
    const routes = EXAMPLE.get('routes.yaml')!.replace('principalType: Workload', 'principalType: User');
    expect(() => compilePolicyModel(examplePolicyFiles({ 'routes.yaml': routes }))).toThrow(
      /principal.type and network.principalType must differ/,
    );
  });
});

describe('5. a fail-open fallback is never cached', () => {
  it('the local answer while the remote tier is down is not served once it is back', async () => {
    let up = false;
    let asked = 0;
    const remote = {
      decide: async () => {
        asked++;
        return up
          ? {
              ok: true as const,
              evaluation: {
                allowed: false,
                reason: 'policy_denied' as const,
                policies: ['remote-forbid'],
                errors: [],
                detail: undefined,
              },
              policyVersion: 'cp-9',
              ms: 1,
            }
          : { ok: false as const, result: 'error' as const, ms: 1 };
      },
    } as unknown as RemoteDecider;
    const routes = EXAMPLE.get('routes.yaml')!.replace(
      /  low:\n    cacheTtlSeconds: 30\n    failureMode: closed/,
      '  low:\n    cacheTtlSeconds: 30\n    remote: true\n    failureMode: open',
    );
    const config = { remote: { url: 'http://127.0.0.1:1/v1/authorize' } };
    const p = pipeline(examplePolicyFiles({ 'routes.yaml': routes }), config, {
      decisionCache: new DecisionCache({ maxEntries: 100, maxBytes: 1 << 20 }),
      epoch: () => 0,
      remote,
    });
    const token = await issuer.sign({ sub: 'alice' });
    const down = await read(p, 'acc-1001', token);
    expect(down).toMatchObject({ allowed: true, source: 'fallback', remote: { result: 'error', failureMode: 'open' } });
    up = true;
    const back = await read(p, 'acc-1001', token);
    expect(back).toMatchObject({ allowed: false, source: 'remote', policies: ['remote-forbid'] });
    expect(asked).toBe(2);
  });
});

describe('6. an unknown resource is the request, not a policy defect', () => {
  it('answers resource_unknown with the policies that could not read it', async () => {
    const d = await read(pipeline(EXAMPLE), 'acc-9999');
    expect(d).toMatchObject({ allowed: false, reason: 'resource_unknown', source: 'engine' });
    expect(d.policies).toContain('teller-read');
    // For a type the store holds none of, failing to read a resource's attribute is a defect of the set.
    const noRecords = examplePolicyFiles({
      'entities.json': JSON.stringify(
        ENTITIES.filter((e) => (e as { uid: { type: string } }).uid.type !== 'Bank::CustomerRecords'),
      ),
    });
    const admin = await issuer.sign({ sub: 'carol', roles: ['admin'] });
    expect(
      await decide(pipeline(noRecords), httpCheckRequest({ path: '/tenants/acme/customers/export', token: admin })),
    ).toMatchObject({ allowed: false, reason: 'policy_error', policies: ['admin-export'] });
  });
});

describe('7. a step-up max_age is enforced by the policy that announces it', () => {
  const transfer = (claims: Record<string, unknown>) =>
    issuer.sign({ sub: 'alice', scope: 'accounts:read payments:write', acr: 'mfa', ...claims });

  it('an MFA login older than max_age, or one without auth_time, must step up', async () => {
    const p = pipeline(EXAMPLE);
    const now = Math.floor(Date.now() / 1000);
    const post = async (token: string) =>
      decide(p, httpCheckRequest({ method: 'POST', path: '/accounts/acc-1001/transfers', token }));
    expect(await post(await transfer({ auth_time: now - 60 }))).toMatchObject({
      allowed: true,
      policies: ['owner-transfer'],
    });
    expect(await post(await transfer({ auth_time: now - 2 * 86_400 }))).toMatchObject({
      allowed: false,
      reason: 'step_up_required',
      stepUp: { acrValues: 'mfa', maxAge: 3600 },
    });
    expect(await post(await transfer({}))).toMatchObject({ allowed: false, reason: 'step_up_required' });
  });

  it('a @stepUp with max_age whose condition does not check the login time is refused at compile time', () => {
    const lax =
      '@id("lax") @stepUp("acr=mfa;max_age=600") forbid (principal, action == Bank::Action::"transferFunds", resource) unless { context has token && context.token has acr && context.token.acr == "mfa" };';
    let problems: readonly string[] = [];
    try {
      compilePolicyModel(examplePolicyFiles({ 'lax.cedar': lax }));
    } catch (err) {
      problems = (err as PolicyModelError).problems;
    }
    expect(problems.join('\n')).toMatch(/lax: @stepUp announces max_age=600, but the condition does not check it/);
    // Checking the time against another window is refused as well; the announced one passes.
    const wrongWindow = lax.replace(
      'context.token.acr == "mfa"',
      'context.token.acr == "mfa" && context.token has authTime && context.token.authTime + 3600 >= context.request.time',
    );
    expect(() => compilePolicyModel(examplePolicyFiles({ 'lax.cedar': wrongWindow }))).toThrow(/max_age=600/);
    expect(() =>
      compilePolicyModel(examplePolicyFiles({ 'lax.cedar': wrongWindow.replace('+ 3600', '+ 600') })),
    ).not.toThrow();
  });
});
