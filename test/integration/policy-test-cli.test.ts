// `authzd policy test` as CI runs it: the built CLI on the repository's policies/ and on broken copies.
// Needs `npx tsc -p .` (dist/) first.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { CLI, ROOT } from '../helpers/spawn-cli.js';

const POLICIES = path.join(ROOT, 'policies');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'policy', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function copyOfPolicies(): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-policy-test-cli-')), 'policies');
  cpSync(POLICIES, dir, { recursive: true });
  return dir;
}

describe('authzd policy test', () => {
  it('passes the example policies with every policy covered (text)', async () => {
    const r = await run(['test', POLICIES]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^authzd policy test .* \(policy version sha256:[0-9a-f]{16}\)\n/);
    expect(r.stdout).toContain('\ntests/accounts.yaml\n  ✓ the owner reads her account\n');
    expect(r.stdout).not.toContain('✗');
    expect(r.stdout).toMatch(/\n(\d+) passed, 0 failed \(\1 cases in 5 files\)\n/);
    expect(r.stdout).toContain('coverage: every policy determined at least one passing case');
    expect(r.code).toBe(0);
  });

  it('prints one JSON object with per-case results and totals', async () => {
    const r = await run(['test', POLICIES, '--output', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      ok: true,
      directory: POLICIES,
      problems: [],
      uncovered: [],
      totals: { files: 5, failed: 0 },
    });
    expect(report.cases).toHaveLength(report.totals.cases);
    expect(report.totals.passed).toBe(report.totals.cases);
    expect(report.cases[0]).toMatchObject({
      file: 'tests/accounts.yaml',
      name: 'the owner reads her account',
      passed: true,
      got: { decision: 'allow', policies: ['account-owner-read'] },
    });
  });

  it('fails (exit 1) on a broken expectation and prints what was expected and what came back', async () => {
    const dir = copyOfPolicies();
    const file = path.join(dir, 'tests', 'accounts.yaml');
    const text = readFileSync(file, 'utf8');
    const broken = text.replace(
      'expect: { decision: allow, policies: [account-owner-read] }',
      'expect: { decision: deny, reason: policy_denied, policies: [tenant-isolation] }',
    );
    expect(broken).not.toBe(text);
    writeFileSync(file, broken);

    const r = await run(['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        '  ✗ the owner reads her account',
        '      expected  deny policy_denied (tenant-isolation)',
        '      got       allow (account-owner-read)',
        '      explain',
        '        ALLOW  determining: account-owner-read; errors: none',
        '        ✓ permit account-owner-read  accounts.cedar: scope matches',
        '            when { resource.owner == principal }  -> true',
      ].join('\n'),
    );
    // The forbid the expectation named: its scope matched and its condition was false.
    expect(r.stdout).toMatch(
      /\n {8}✗ forbid tenant-isolation {2}tenants\.cedar: scope matches\n {12}when \{.*\} {2}-> false\n/,
    );
    expect(r.stdout).toMatch(/\n {8}scope did not match \(the part that missed\): .*transfer-requires-mfa \(action\)/);
    expect(r.stdout).toMatch(/\n\d+ passed, 1 failed \(\d+ cases in 5 files\)\n/);

    const json = await run(['test', dir, '--output', 'json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: false, totals: { failed: 1 } });
    expect(report.cases.filter((c: { passed: boolean }) => !c.passed)).toEqual([
      expect.objectContaining({ name: 'the owner reads her account', mismatches: ['decision', 'reason', 'policies'] }),
    ]);
  });

  it('runs only the filtered cases, and warns about the policies they leave uncovered', async () => {
    const r = await run(['test', POLICIES, '--filter', 'frozen']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 passed, 0 failed (1 case in 5 files)');
    expect(r.stdout).toMatch(/\nwarning: \d+ policies determined no passing case: account-owner-read, /);
    expect((await run(['test', POLICIES, '--filter', 'no such case'])).code).toBe(1);
  });

  it('fails (exit 1) on a policy set that does not compile or an invalid test file, listing the problems', async () => {
    const dir = copyOfPolicies();
    writeFileSync(
      path.join(dir, 'tests', 'typo.yaml'),
      '- name: x\n  claims: { sub: a }\n  method: GET\n  path: /a\n  expect: { decison: allow }\n',
    );
    const invalid = await run(['test', dir]);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain(
      'problems:\n  tests/typo.yaml:5:11: [0].expect.decision: required\n  tests/typo.yaml:5:13: [0].expect.decison: unknown key\n',
    );

    rmSync(path.join(dir, 'routes.yaml'));
    const broken = await run(['test', dir, '--output', 'json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      policyVersion: null,
      cases: [],
      problems: ['policy set: routes.yaml: missing'],
    });
    const text = await run(['test', dir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('the policy set does not compile; no case was run:\n  - routes.yaml: missing\n');
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [
      ['test'],
      ['test', POLICIES, '--output', 'xml'],
      ['test', POLICIES, '--verbose'],
      ['test', path.join(ROOT, 'nowhere')],
      ['lint', POLICIES],
      [],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    const help = await run(['test', '--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: authzd policy test DIR') });
  });
});
