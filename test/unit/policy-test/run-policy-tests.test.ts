import { describe, expect, it } from 'vitest';

import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { describeFailure } from '../../../src/policy-test/describe-failure.js';
import { readPolicyTests } from '../../../src/policy-test/read-policy-tests.js';
import { runPolicyTests } from '../../../src/policy-test/run-policy-tests.js';
import { EXAMPLE_POLICIES, examplePolicyFiles } from '../../helpers/policy-files.js';

const model = compilePolicyModel(examplePolicyFiles());
const run = (tests: Record<string, string>, options = {}, m = model) =>
  runPolicyTests(m, new Map(Object.entries(tests)), options);

// An MFA login ten minutes before the request time the transfer cases set (1768469400).
const ALICE =
  'claims: { sub: alice, tenant: acme, roles: [customer], scope: "accounts:read payments:write", acr: mfa, auth_time: 1768468800 }';
const ERIN = 'claims: { sub: erin, tenant: globex, roles: [customer], scope: accounts:read }';

describe('runPolicyTests', () => {
  it("passes the example policies' own tests, which leave no policy uncovered", async () => {
    const report = await runPolicyTests(model, await readPolicyTests(EXAMPLE_POLICIES));
    expect(report.problems).toEqual([]);
    expect(report.cases.filter((c) => !c.passed).map(describeFailure)).toEqual([]);
    expect(report.uncovered).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.totals.cases).toBeGreaterThanOrEqual(30);
    expect(report.totals).toMatchObject({ passed: report.totals.cases, failed: 0 });
  });

  it('checks the decision alone, with the reason, and with the determining policies', async () => {
    const report = await run({
      'tests/a.yaml': `
- name: decision only
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny }
- name: decision and reason
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, reason: policy_denied }
- name: decision, reason and policies
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, reason: policy_denied, policies: [tenant-isolation] }
- name: an empty policy list means none determined it
  claims: { sub: frank, tenant: acme, roles: [customer] }
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, reason: no_matching_permit, policies: [] }
`,
    });
    expect(report.cases.map((c) => [c.name, c.passed])).toEqual([
      ['decision only', true],
      ['decision and reason', true],
      ['decision, reason and policies', true],
      ['an empty policy list means none determined it', true],
    ]);
    expect(report.ok).toBe(true);
  });

  it('reports a failing case with what was expected and what came back, by mismatch', async () => {
    const report = await run({
      'tests/a.yaml': `
- name: wrong decision
  ${ALICE}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny }
- name: wrong reason
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, reason: no_matching_permit }
- name: wrong policies
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, policies: [tenant-isolaton] }
`,
    });
    expect(report.ok).toBe(false);
    expect(report.totals).toEqual({ files: 1, cases: 3, passed: 0, failed: 3 });
    const [decision, reason, policies] = report.cases;
    expect(decision).toMatchObject({
      passed: false,
      mismatches: ['decision'],
      got: { decision: 'allow', reason: 'policy_allowed', policies: ['account-owner-read'] },
    });
    expect(reason).toMatchObject({
      passed: false,
      mismatches: ['reason'],
      got: { decision: 'deny', reason: 'policy_denied', policies: ['tenant-isolation'] },
    });
    expect(policies).toMatchObject({
      passed: false,
      mismatches: ['policies'],
      notes: ['"tenant-isolaton" is not a policy id of this set'],
    });
    expect(report.cases.map(describeFailure)).toEqual([
      "tests/a.yaml: case 'wrong decision': expected deny, got allow (account-owner-read)",
      "tests/a.yaml: case 'wrong reason': expected deny no_matching_permit, got deny policy_denied (tenant-isolation)",
      `tests/a.yaml: case 'wrong policies': expected deny (tenant-isolaton), got deny policy_denied (tenant-isolation); "tenant-isolaton" is not a policy id of this set`,
    ]);
  });

  it('decides connections, tokenless workloads, direct action + resource and anonymous requests', async () => {
    const report = await run({
      'tests/a.yaml': `
- name: connection
  peer: { source: "spiffe://cluster.local/ns/bank/sa/ledger", destination: "spiffe://cluster.local/ns/bank/sa/core-banking" }
  expect: { decision: allow, policies: [ledger-to-core] }
- name: connection from an unauthenticated peer
  peer: { destination: "spiffe://cluster.local/ns/bank/sa/core-banking" }
  expect: { decision: deny, reason: peer_unauthenticated }
- name: direct
  ${ERIN}
  action: readAccount
  resource: { type: Account, id: acc-1001 }
  expect: { decision: deny, reason: policy_denied, policies: [tenant-isolation] }
- name: direct with a fully qualified type
  ${ERIN}
  action: readAccount
  resource: { type: "Bank::Account", id: acc-2001 }
  expect: { decision: allow, policies: [account-owner-read] }
- name: anonymous
  method: GET
  path: /accounts/acc-1001
  expect: { decision: deny, reason: token_missing }
- name: unknown route
  ${ALICE}
  method: GET
  path: /nowhere
  expect: { decision: deny, reason: route_not_found }
`,
    });
    expect(report.cases.filter((c) => !c.passed).map(describeFailure)).toEqual([]);
    expect(report.totals.passed).toBe(6);
  });

  it('hands the context overrides to the policies: source IP, time, risk signals, host', async () => {
    const files = examplePolicyFiles({
      'office.cedar': `
@id("office-hours")
forbid (principal, action == Bank::Action::"readAccount", resource)
when { context.request.time < 1767225600 || context.request.host == "legacy.example.com" };

@id("office-network")
forbid (principal, action == Bank::Action::"readAccount", resource)
unless { context.request has sourceIp && context.request.sourceIp.isInRange(ip("10.0.0.0/8")) };`,
    });
    const bob = 'claims: { sub: bob, tenant: acme, roles: [teller] }';
    const cases = (context: string) => ({
      'tests/a.yaml': `- name: x\n  ${bob}\n  method: GET\n  path: /accounts/acc-1001\n  context: ${context}\n  expect: { decision: allow }\n`,
    });
    const decide = async (context: string) => (await run(cases(context), {}, compilePolicyModel(files))).cases[0].got;
    expect(await decide('{ sourceIp: 10.1.2.3, time: "2026-03-01T08:00:00+01:00" }')).toMatchObject({
      decision: 'allow',
      policies: ['teller-read'],
    });
    expect(await decide('{ sourceIp: 10.1.2.3, time: 1767225599 }')).toMatchObject({
      decision: 'deny',
      policies: ['office-hours'],
    });
    expect(await decide('{ sourceIp: 192.0.2.1, time: 1767225600 }')).toMatchObject({
      decision: 'deny',
      policies: ['office-network'],
    });
    expect(await decide('{ time: 1767225600 }')).toMatchObject({ decision: 'deny', policies: ['office-network'] });
    expect(await decide('{ sourceIp: 10.1.2.3, time: 1767225600, host: legacy.example.com }')).toMatchObject({
      decision: 'deny',
      policies: ['office-hours'],
    });
    // context.risk goes through the sidecar's risk signals (Envoy metadata from a trusted filter).
    const transfer = `- name: x\n  ${ALICE}\n  method: POST\n  path: /accounts/acc-1001/transfers\n  context: { time: 1768469400, risk: { score: 80 } }\n  expect: { decision: deny, policies: [high-risk-write] }\n`;
    expect((await run({ 'tests/a.yaml': transfer })).ok).toBe(true);
  });

  it('reports policy_error when a policy fails to evaluate (policies.onError deny)', async () => {
    const broken = compilePolicyModel(
      examplePolicyFiles({
        'schema.cedarschema': null,
        'broken.cedar': '@id("broken-forbid") forbid(principal, action, resource) when { principal.nosuch == 1 };',
      }),
    );
    const report = await run(
      {
        'tests/a.yaml': `- name: x\n  ${ALICE}\n  method: GET\n  path: /accounts/acc-1001\n  expect: { decision: deny, reason: policy_error, policies: [broken-forbid] }\n`,
      },
      {},
      broken,
    );
    expect(report.cases[0]).toMatchObject({ passed: true, got: { detail: expect.stringContaining('broken-forbid') } });
  });

  it('lists as uncovered every policy that determined no passing case', async () => {
    const report = await run({
      'tests/a.yaml': `
- name: owner
  ${ALICE}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow }
- name: failing, so tenant-isolation is not covered by it
  ${ERIN}
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow }
`,
    });
    expect(report.uncovered).toEqual([...model.policyInfo.keys()].filter((id) => id !== 'account-owner-read').sort());
    expect(report.uncovered).toContain('tenant-isolation');
  });

  it('runs only the cases whose name or file contains the filter, and says when none does', async () => {
    const tests = {
      'tests/reads.yaml': `- name: alice reads\n  ${ALICE}\n  method: GET\n  path: /accounts/acc-1001\n  expect: { decision: allow }\n- name: erin reads\n  ${ERIN}\n  method: GET\n  path: /accounts/acc-1001\n  expect: { decision: deny }\n`,
      'tests/network.yaml': `- name: ledger\n  peer: { source: "spiffe://cluster.local/ns/bank/sa/ledger", destination: "spiffe://cluster.local/ns/bank/sa/core-banking" }\n  expect: { decision: allow }\n`,
    };
    expect((await run(tests, { filter: 'erin' })).cases.map((c) => c.name)).toEqual(['erin reads']);
    expect((await run(tests, { filter: 'network' })).cases.map((c) => c.name)).toEqual(['ledger']);
    const none = await run(tests, { filter: 'mallory' });
    expect(none).toMatchObject({ ok: false, cases: [], problems: ['no case matches --filter "mallory"'] });
    expect((await run({})).problems).toEqual(['no test files (tests/*.yaml)']);
  });

  it('runs the valid files when another has problems, and fails the run', async () => {
    const report = await run({
      'tests/bad.yaml': '- name: x\n  claims: { sub: a }\n  method: GET\n  path: /a\n  expect: { decision: maybe }\n',
      'tests/good.yaml': `- name: owner\n  ${ALICE}\n  method: GET\n  path: /accounts/acc-1001\n  expect: { decision: allow }\n`,
    });
    expect(report.problems).toEqual([expect.stringMatching(/^tests\/bad\.yaml:5:23: \[0\]\.expect\.decision: /)]);
    expect(report.cases.map((c) => [c.file, c.passed])).toEqual([['tests/good.yaml', true]]);
    expect(report.files).toEqual(['tests/bad.yaml', 'tests/good.yaml']);
    expect(report.ok).toBe(false);
  });
});
