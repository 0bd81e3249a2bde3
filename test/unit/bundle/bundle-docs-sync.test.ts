// docs/bundles.md documents every bundle rejection code as a `### \`code\`` heading, and no other.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { BUNDLE_REJECTION_CODES, BUNDLE_REJECTIONS } from '../../../src/bundle/bundle-rejections.js';

const doc = readFileSync(new URL('../../../docs/bundles.md', import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('docs/bundles.md matches the code', () => {
  it('has a section for every bundle rejection code and no other', () => {
    const documented = [...doc.matchAll(/^### `(bundle_[a-z_]+)`$/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect(sorted(documented)).toEqual(sorted(Object.keys(BUNDLE_REJECTIONS)));
    expect(documented.length).toBe(new Set(documented).size);
  });

  it('lists the codes in the same order as the code, inside the rejection codes section', () => {
    const section = doc.split('## Rejection codes')[1].split(/^## /m)[0];
    expect([...section.matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1])).toEqual(BUNDLE_REJECTION_CODES);
  });

  it('has no other `### `-code heading that looks like a rejection', () => {
    const codeHeadings = [...doc.matchAll(/^### `([^`]+)`$/gm)].map((m) => m[1]);
    expect(codeHeadings.filter((h) => /^[a-z_]+$/.test(h))).toEqual(BUNDLE_REJECTION_CODES);
  });
});
