import type { ChangeGroup, DecisionSummary, ReplayOutcomes, ReplayReport } from './replay-decisions.js';

const KIND_LABEL: Record<ChangeGroup['kind'], string> = {
  allow_to_deny: 'allow -> deny',
  deny_to_allow: 'deny -> allow',
  reason_changed: 'reason changed',
};

/** The replay report for a terminal (docs/audit.md shows an example). */
export function formatReplayReport(
  report: ReplayReport,
  source: { readonly files: readonly string[]; readonly policies: string },
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const replayed = (o: ReplayOutcomes) => o.unchanged + o.allow_to_deny + o.deny_to_allow + o.reason_changed;
  const nr = report.notReplayable;
  const notReplayable = nr.noInput + nr.outsideEngine + nr.errors + nr.failed;
  const out: string[] = [];
  out.push(
    `replayed ${n(report.events)} decision events from ${source.files.length === 1 ? source.files[0] : `${source.files.length} files`} against ${source.policies} (version ${report.policyVersion})` +
      (report.limited ? ', stopped at --limit' : ''),
    '',
  );
  const rows: [string, number][] = [
    ['replayed', replayed(report.exact)],
    ['  unchanged', report.exact.unchanged],
    ['  allow -> deny', report.exact.allow_to_deny],
    ['  deny -> allow', report.exact.deny_to_allow],
    ['  reason changed', report.exact.reason_changed],
  ];
  const approximate = replayed(report.approximate);
  if (approximate > 0) {
    rows.push(
      ['replayed approximately (hashed identifiers)', approximate],
      ['  unchanged', report.approximate.unchanged],
      ['  allow -> deny', report.approximate.allow_to_deny],
      ['  deny -> allow', report.approximate.deny_to_allow],
      ['  reason changed', report.approximate.reason_changed],
    );
  }
  rows.push(
    ['not replayable', notReplayable],
    ['  decided without policies (request, token, route, rate limit)', nr.outsideEngine],
    ['  logged without input', nr.noInput],
    ['  errors (no decision)', nr.errors],
  );
  if (nr.failed > 0) rows.push(['  replay failed', nr.failed]);
  rows.push(
    ['lines skipped: not decision events', report.lines.notDecision],
    ['lines skipped: malformed decision events', report.lines.malformed],
  );
  const width = Math.max(...rows.map(([label]) => label.length));
  const numbers = Math.max(...rows.map(([, value]) => n(value).length));
  for (const [label, value] of rows) out.push(`  ${label.padEnd(width)}  ${n(value).padStart(numbers)}`);
  for (const example of report.malformedExamples) out.push(`    ${example}`);

  if (approximate > 0) {
    out.push(
      '',
      `note: ${n(approximate)} events were logged with audit.hashIdentifiers, so their principal and resource ids are hashes.`,
      '  Their replay is approximate: entity lookups by id fail, so policies that read stored attributes of the',
      '  principal or the resource (owner, tenant) can change for that reason alone. They are counted apart and',
      '  do not count for --fail-on-change.',
    );
  }

  out.push('');
  if (report.changes.length === 0) {
    out.push('no decision would change.');
    return `${out.join('\n')}\n`;
  }
  out.push('changes:', '');
  const table = [
    ['change', 'route', 'before', 'after', 'events', 'examples'],
    ...report.changes.map((g) => [
      `${KIND_LABEL[g.kind]}${g.approximate ? ' (approx.)' : ''}`,
      g.route === '' ? '-' : g.route,
      summary(g.before),
      summary(g.after),
      n(g.count),
      g.examples.join(', '),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    out.push(
      `  ${row
        .map((cell, i) => (i === 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd()}`,
    );
  return `${out.join('\n')}\n`;
}

function summary(s: DecisionSummary): string {
  return `${s.decision} ${s.reason}${s.policies.length > 0 ? ` (${s.policies.join(', ')})` : ''}`;
}
