import { describeExpectation, describeOutcome } from './describe-outcome.js';
import type { PolicyTestReport } from './run-policy-tests.js';

/**
 * The report for people: file -> case with ✓ or ✗, under each failure what was expected and what came
 * back, then the problems, a summary line and the coverage warning.
 */
export function formatTextReport(report: PolicyTestReport, directory: string): string {
  const lines: string[] = [`authzd policy test ${directory} (policy version ${report.policyVersion})`];
  let file: string | undefined;
  for (const r of report.cases) {
    if (r.file !== file) {
      file = r.file;
      lines.push('', file);
    }
    lines.push(`  ${r.passed ? '✓' : '✗'} ${r.name}`);
    if (r.passed) continue;
    lines.push(`      expected  ${describeExpectation(r.expected)}`);
    lines.push(`      got       ${describeOutcome(r.got)}${r.got.decision === 'error' ? ' (a gRPC error)' : ''}`);
    if (r.got.detail !== undefined) lines.push(`      detail    ${r.got.detail}`);
    for (const note of r.notes) lines.push(`      note      ${note}`);
    if (r.explanation !== undefined) {
      lines.push('      explain');
      for (const line of r.explanation) lines.push(`        ${line}`);
    }
  }
  if (report.problems.length > 0) {
    lines.push('', 'problems:');
    for (const p of report.problems) lines.push(`  ${p}`);
  }
  if (report.warnings.length > 0) lines.push('');
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  const { totals } = report;
  lines.push(
    '',
    `${totals.passed} passed, ${totals.failed} failed (${count(totals.cases, 'case', 'cases')} in ${count(totals.files, 'file', 'files')})`,
  );
  if (report.uncovered.length === 0) lines.push('coverage: every policy determined at least one passing case');
  else
    lines.push(
      `warning: ${count(report.uncovered.length, 'policy', 'policies')} determined no passing case: ${report.uncovered.join(', ')}`,
    );
  return `${lines.join('\n')}\n`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
