import type { RouteSpec } from '../policy/routes-schema.js';
import { hasChanges, type ImportReport } from './import-report.js';

export type ImportOutcome =
  | { readonly kind: 'written'; readonly files: readonly string[] }
  | { readonly kind: 'dry-run' }
  /** Refused operations and no --skip-unsupported: nothing was written. */
  | { readonly kind: 'refused' };

/** The diff as people read it: + added, ~ changed, - removed, ! kept by hand (a conflict to look at). */
export function formatImportReport(report: ImportReport, outcome: ImportOutcome): string {
  const out: string[] = [];
  const d = report.document;
  out.push(`authzd routes import ${d.file} -> ${report.policyDir} (OpenAPI ${d.openapi}, "${d.title}" ${d.version})`);
  for (const name of report.created) out.push(`  creates ${name}`);

  const r = report.routes;
  if (r.added.length + r.changed.length + r.removed.length + r.kept.length > 0) {
    out.push('', 'routes.yaml');
    for (const s of r.added) out.push(`  + ${describeRoute(s)}`);
    for (const { before, after } of r.changed) out.push(`  ~ ${after.id}: ${routeChanges(before, after)}`);
    for (const s of r.removed) out.push(`  - ${s.id} (${methods(s)} ${s.path})`);
    for (const k of r.kept) out.push(`  ! ${k.name}: ${k.reason}`);
  }
  const s = report.schema;
  if (s.added.length + s.changed.length + s.removed.length + s.kept.length > 0) {
    out.push('', 'schema.cedarschema');
    for (const text of s.added) out.push(`  + ${oneLine(text)}`);
    for (const { before, after } of s.changed) out.push(`  ~ ${oneLine(after)}`, `      was ${oneLine(before)}`);
    for (const text of s.removed) out.push(`  - ${oneLine(text)}`);
    for (const k of s.kept) out.push(`  ! ${k.name}: ${k.reason}`);
  }
  if (report.skipped.length > 0) {
    out.push('', 'skipped');
    for (const n of report.skipped) out.push(`  ${n.method} ${n.path}: ${n.reason}`);
  }
  if (report.refused.length > 0) {
    out.push(
      '',
      `refused: authzd's router cannot serve these operations as the document describes them${outcome.kind === 'refused' ? ' (--skip-unsupported imports the others)' : ''}`,
    );
    for (const n of report.refused) out.push(`  ${n.method} ${n.path}: ${n.reason}`);
  }
  if (report.warnings.length > 0) {
    out.push('', 'warnings');
    for (const w of report.warnings) out.push(`  ${w}`);
  }

  out.push(
    '',
    `routes: ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed, ${r.kept.length} kept by hand, ${r.unchanged} unchanged; ` +
      `schema: ${s.added.length} added, ${s.changed.length} changed, ${s.removed.length} removed, ${s.kept.length} kept; ` +
      `${report.skipped.length} skipped, ${report.refused.length} refused`,
  );
  if (outcome.kind === 'refused')
    out.push(`refused ${report.refused.length} operation${report.refused.length === 1 ? '' : 's'}: nothing written`);
  else if (outcome.kind === 'dry-run')
    out.push(hasChanges(report) ? 'dry run: nothing written' : 'dry run: nothing would change');
  else out.push(outcome.files.length > 0 ? `wrote ${outcome.files.join(', ')}` : 'nothing to change');
  return `${out.join('\n')}\n`;
}

function describeRoute(s: RouteSpec): string {
  return `${s.id}: ${methods(s)} ${s.path} -> action ${JSON.stringify(s.action)} on ${s.resource.type}::${JSON.stringify(s.resource.id)}, risk ${s.risk}${s.allowWorkloads ? ', workloads allowed' : ''}`;
}

function routeChanges(before: RouteSpec, after: RouteSpec): string {
  const parts: string[] = [];
  for (const key of ['id', 'method', 'path', 'action', 'resource', 'risk', 'allowWorkloads'] as const) {
    const a = JSON.stringify(before[key]);
    const b = JSON.stringify(after[key]);
    if (a !== b) parts.push(`${key} ${a ?? 'unset'} -> ${b}`);
  }
  return parts.join(', ');
}

function methods(s: RouteSpec): string {
  return Array.isArray(s.method) ? s.method.join(',') : String(s.method);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
