// docs/policy-tests.md against the code: its key table both ways, and its example file really passes.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { describeFailure } from '../../../src/policy-test/describe-failure.js';
import { PolicyTestCaseSchema } from '../../../src/policy-test/policy-test-schema.js';
import { runPolicyTests } from '../../../src/policy-test/run-policy-tests.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { documentedKeys, schemaKeys } from '../../helpers/schema-keys.js';

const doc = readFileSync(new URL('../../../docs/policy-tests.md', import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('docs/policy-tests.md matches the code', () => {
  it('lists every key of a test case and no other', () => {
    const table = doc.split('Every key')[1].split('\n## ')[0];
    expect(sorted(documentedKeys(table))).toEqual(sorted(schemaKeys(PolicyTestCaseSchema)));
  });

  it('shows an example test file that is valid and passes against the example policies', async () => {
    const example = doc.split('## A test file')[1].match(/```yaml\n([\s\S]*?)```/)![1];
    const report = await runPolicyTests(
      compilePolicyModel(examplePolicyFiles()),
      new Map([['tests/transfers.yaml', example]]),
    );
    expect(report.problems).toEqual([]);
    expect(report.cases.filter((c) => !c.passed).map(describeFailure)).toEqual([]);
    expect(report.totals.cases).toBe(4);
  });
});
