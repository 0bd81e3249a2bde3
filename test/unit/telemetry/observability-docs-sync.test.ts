// docs/observability.md lists what the code defines: the OpenTelemetry variables read, the Check span's
// attributes, the traced stages and their attributes. Checked both ways, table by table.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { TRACED_STAGES } from '../../../src/contract/call-trace.js';
import { CHECK_SPAN_ATTRIBUTES, STAGE_SPAN_ATTRIBUTES } from '../../../src/telemetry/check-tracer.js';
import { TRACING_VARIABLES } from '../../../src/telemetry/tracing-settings.js';
import { documentedKeys } from '../../helpers/schema-keys.js';

const doc = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
/** The markdown from `heading` to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = doc.indexOf(`${heading}\n`);
  expect(start, `docs/observability.md has "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0];
  const rest = doc.slice(start + heading.length);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}
/** The first table of a section (stops at the first line after it that is not a row). */
function firstTable(markdown: string): string[] {
  const lines = markdown.split('\n');
  const from = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[] = [];
  for (let i = from; i >= 0 && i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!);
  return documentedKeys(rows.join('\n'));
}
const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('docs/observability.md matches the code', () => {
  it('lists every OpenTelemetry variable read, and no other', () => {
    expect(sorted(firstTable(section('### Environment variables')))).toEqual(sorted(TRACING_VARIABLES));
  });

  it('lists every Check span attribute, and no other', () => {
    expect(sorted(firstTable(section('## What a Check looks like')))).toEqual(sorted(CHECK_SPAN_ATTRIBUTES));
  });

  it('lists every traced stage and every stage attribute, and no other', () => {
    const stages = section('### The stages that take time');
    expect(sorted(firstTable(stages))).toEqual(sorted(TRACED_STAGES));
    const attributes = stages.slice(stages.indexOf('Stage attributes'));
    expect(sorted(firstTable(attributes))).toEqual(sorted(STAGE_SPAN_ATTRIBUTES));
  });
});
