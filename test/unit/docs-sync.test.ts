// Lists in the docs that mirror code are checked against the code, both ways, so they cannot drift.
import { readFileSync } from 'node:fs';

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../src/config/config-schema.js';
import { REASON_CODES } from '../../src/contract/reasons.js';
import { RoutesFileSchema } from '../../src/policy/routes-schema.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { documentedKeys, schemaKeys } from '../helpers/schema-keys.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('docs match the code', () => {
  it('docs/reasons.md has a section for every reason code and no other', () => {
    const documented = [...doc('reasons.md').matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1]);
    expect(sorted(documented)).toEqual(sorted(REASON_CODES));
    expect(documented.length).toBe(new Set(documented).size);
  });

  it('docs/metrics.md lists every authzd metric and no other', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const registered = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('authzd_'));
    const documented = documentedKeys(doc('metrics.md'));
    expect(sorted(documented)).toEqual(sorted(registered));
  });

  it('docs/configuration.md lists every configuration key and no other', () => {
    expect(sorted(documentedKeys(doc('configuration.md')))).toEqual(sorted(schemaKeys(ConfigSchema)));
  });

  it('docs/policy-model.md lists every routes.yaml key and no other', () => {
    const table = doc('policy-model.md').split('Every key')[1].split('###')[0];
    expect(sorted(documentedKeys(table))).toEqual(sorted(schemaKeys(RoutesFileSchema)));
  });
});
