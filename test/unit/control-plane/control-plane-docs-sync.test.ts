// docs/control-plane.md's lists that mirror code are checked against the code, both ways.
import { readFileSync } from 'node:fs';

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { CONTROL_PLANE_FLAGS } from '../../../src/cli/control-plane-command.js';
import { API_ERROR_CODES, API_ERRORS } from '../../../src/control-plane/api-errors.js';
import {
  CONTROL_PLANE_FLAG_KEYS,
  ControlPlaneConfigSchema,
} from '../../../src/control-plane/control-plane-config-schema.js';
import { createControlPlaneMetrics } from '../../../src/control-plane/control-plane-metrics.js';
import { PUBLISH_REJECTION_REASONS, PUBLISH_REJECTIONS } from '../../../src/control-plane/publish-rejections.js';
import { documentedKeys, schemaKeys } from '../../helpers/schema-keys.js';

const doc = readFileSync(new URL('../../../docs/control-plane.md', import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
/** The text from a heading line to the next heading of the same or a higher level. */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start, `heading ${heading}`).toBeGreaterThanOrEqual(0);
  const level = heading.split(' ')[0];
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

describe('docs/control-plane.md matches the code', () => {
  it('lists every control-plane metric and no other', async () => {
    const registry = new Registry();
    createControlPlaneMetrics(registry);
    const registered = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('authzd_'));
    expect(sorted(documentedKeys(section('## Metrics')))).toEqual(sorted(registered));
  });

  it('lists every API error code with its status and no other', () => {
    const rows = [...section('### Error codes').matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(
      (m) => [m[1], Number(m[2])] as const,
    );
    expect(sorted(rows.map(([code]) => code))).toEqual(sorted(API_ERROR_CODES));
    for (const [code, status] of rows) expect(API_ERRORS[code as keyof typeof API_ERRORS].status).toBe(status);
  });

  it("lists every reason of the publication gate, with the code's meaning, and no other", () => {
    const rows = [...section('### Why a set is refused').matchAll(/^\| `([a-z_]+)` \| (.+) \|$/gm)].map(
      (m) => [m[1], m[2]] as const,
    );
    expect(sorted(rows.map(([reason]) => reason))).toEqual(sorted(PUBLISH_REJECTION_REASONS));
    for (const [reason, meaning] of rows)
      expect(meaning).toBe(PUBLISH_REJECTIONS[reason as keyof typeof PUBLISH_REJECTIONS]);
  });

  it('lists every flag of authzd control-plane and no other', () => {
    const flags = Object.keys(CONTROL_PLANE_FLAGS)
      .filter((f) => f !== 'help')
      .map((f) => `--${f}`);
    expect(sorted(documentedKeys(section('### Flags')))).toEqual(sorted(flags));
  });

  it('lists every configuration key with its flag, and no other', () => {
    // A key without a flag of its own says `none` in the flag column.
    const rows = [
      ...section('### Configuration file').matchAll(/^\| `([a-zA-Z.]+)` \| (?:`(--[a-z-]+)`|none\b[^|]*) \|/gm),
    ].map((m) => [m[1], m[2]] as const);
    expect(sorted(rows.map(([key]) => key))).toEqual(sorted(schemaKeys(ControlPlaneConfigSchema)));
    for (const [key, flag] of rows) {
      if (flag === undefined) {
        expect(Object.values(CONTROL_PLANE_FLAG_KEYS).map((spec) => spec.key.join('.'))).not.toContain(key);
        continue;
      }
      expect(CONTROL_PLANE_FLAG_KEYS[flag.slice(2) as keyof typeof CONTROL_PLANE_FLAG_KEYS].key.join('.')).toBe(key);
    }
  });
});
