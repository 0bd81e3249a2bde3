// deploy/prometheus/authzd-rules.yaml checked with the real promtool (Debian's `prometheus` package, which
// npm test installs first; the test fails without it): `promtool check rules`, the unit tests in
// authzd-rules.test.yaml (every alert shown firing and not firing), and the conventions every alert keeps:
// a severity, a summary, a description and a runbook that exists in docs/operations.md, on documented
// metrics only. test/integration/prometheus-dashboard.test.ts runs the same rules in a real Prometheus.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { ROOT } from '../helpers/spawn-cli.js';

const DIR = path.join(ROOT, 'deploy', 'prometheus');
const RULES = path.join(DIR, 'authzd-rules.yaml');
const TESTS = path.join(DIR, 'authzd-rules.test.yaml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  // Fail, not skip: without promtool the rules are unproven.
  if (run.error !== undefined)
    throw new Error(
      `promtool is not installed (${run.error.message}): \`apt-get install -y --no-install-recommends prometheus\` (npm test does this: scripts/install-test-tools.sh)`,
    );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** GitHub's anchor for a Markdown heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('Prometheus rules', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const { status, output } = promtool('test', 'rules', TESTS);
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(status).toBe(0);
  });

  it('have a unit test showing every alert firing and not firing', () => {
    const tests = (
      parseYaml(readFileSync(TESTS, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const cases = tests.filter((t) => t.alertname === alert);
      expect(
        cases.some((t) => t.exp_alerts.length > 0),
        `${alert} firing`,
      ).toBe(true);
      expect(
        cases.some((t) => t.exp_alerts.length === 0),
        `${alert} not firing`,
      ).toBe(true);
    }
    expect(new Set(tests.map((t) => t.alertname))).toEqual(new Set(alerts.map((a) => a.alert)));
  });

  it('give every alert a severity, a summary, a description and a runbook in docs/operations.md, and every runbook an alert', () => {
    const operations = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...operations.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
    for (const rule of alerts) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect((rule.annotations?.description ?? '').length, rule.alert).toBeGreaterThan(40);
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`docs/operations.md#${rule.alert!.toLowerCase()}`);
      expect(anchors.has(rule.alert!.toLowerCase()), `docs/operations.md has a section "${rule.alert}"`).toBe(true);
    }
    // The alert sections of docs/operations.md are exactly the alerts.
    const documented = [...operations.matchAll(/^### (Authzd\w+)$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  it('watch only metrics that authzd and the control plane export (docs/metrics.md, docs/control-plane.md)', () => {
    const documented = new Set(
      ['metrics.md', 'control-plane.md'].flatMap((doc) =>
        [...readFileSync(path.join(ROOT, 'docs', doc), 'utf8').matchAll(/^\| `([a-z_:]+)` \|/gm)].map((m) => m[1]),
      ),
    );
    const recorded = new Set(rules.flatMap((r) => (r.record !== undefined ? [r.record] : [])));
    for (const rule of rules) {
      for (const [, name] of rule.expr.matchAll(/(?<![\w:])([a-z_][a-z0-9_]*:[a-z0-9_:]+|authzd_[a-z0-9_]+)/g)) {
        const base = name.replace(/_(bucket|count|sum)$/, '');
        expect(
          documented.has(name) || documented.has(base) || recorded.has(name),
          `${rule.alert ?? rule.record}: ${name}`,
        ).toBe(true);
      }
    }
  });
});
