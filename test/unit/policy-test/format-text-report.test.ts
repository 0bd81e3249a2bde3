import { describe, expect, it } from 'vitest';

import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { formatTextReport } from '../../../src/policy-test/format-text-report.js';
import { runPolicyTests } from '../../../src/policy-test/run-policy-tests.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

describe('formatTextReport', () => {
  it('prints file -> case with ✓/✗, expected vs got for failures, problems, a summary and coverage', async () => {
    const model = compilePolicyModel(examplePolicyFiles());
    const tests = new Map([
      ['tests/bad.yaml', '- name: x\n  nme: y\n'],
      [
        'tests/reads.yaml',
        `- name: owner reads
  claims: { sub: alice, tenant: acme, roles: [customer] }
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow, policies: [account-owner-read] }
- name: cross-tenant read
  claims: { sub: erin, tenant: globex, roles: [customer] }
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow }
`,
      ],
    ]);
    const text = formatTextReport(await runPolicyTests(model, tests), 'policies');
    const uncovered = [...model.policyInfo.keys()].filter((id) => id !== 'account-owner-read').sort();
    const unmatched = [
      'teller-read (principal)',
      'admin-export (principal, action, resource)',
      'tenant-admin-billing (principal, action, resource)',
      'owner-transfer (action)',
      'frozen-account (action)',
      'transfer-requires-mfa (action)',
      'high-risk-write (action)',
      'ledger-to-core (principal, action, resource)',
      'ledger-reads-accounts (principal)',
    ].join(', ');
    expect(text).toBe(
      [
        `authzd policy test policies (policy version ${model.version})`,
        '',
        'tests/reads.yaml',
        '  ✓ owner reads',
        '  ✗ cross-tenant read',
        '      expected  allow',
        '      got       deny policy_denied (tenant-isolation)',
        // How each policy evaluated (the native engine's explanation): the forbid that held, the permit that did not.
        '      explain',
        '        DENY  determining: tenant-isolation; errors: none',
        '        ✗ permit account-owner-read  accounts.cedar: scope matches',
        '            when { resource.owner == principal }  -> false',
        '        ✓ forbid tenant-isolation  tenants.cedar: scope matches',
        '            when { resource has tenant && resource.tenant != principal.tenant }  -> true',
        `        scope did not match (the part that missed): ${unmatched}`,
        '',
        'problems:',
        '  tests/bad.yaml:1:3: [0].expect: required',
        '  tests/bad.yaml:2:3: [0].nme: unknown key',
        '',
        '1 passed, 1 failed (2 cases in 2 files)',
        `warning: ${uncovered.length} policies determined no passing case: ${uncovered.join(', ')}`,
        '',
      ].join('\n'),
    );
  });
});
