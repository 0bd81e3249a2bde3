import { describe, expect, it } from 'vitest';

import { coldPolicyFiles, warmPolicyFiles } from '../../../bench/lib/datasets.mjs';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';

describe('benchmark policy sets built on the example policies', () => {
  it('warm: the example policies with 400 accounts over four tenants', () => {
    const model = compilePolicyModel(warmPolicyFiles());
    expect(Object.keys(model.policies)).toContain('tenant-isolation');
    expect(model.entities.size).toBe(4 + 8 + 400);
  });

  it('cold: one account per call, capped', () => {
    expect(compilePolicyModel(coldPolicyFiles(50)).entities.size).toBe(12 + 50);
    expect(coldPolicyFiles(10_000_000).get('entities.json')!.split('Bank::Account').length - 1).toBe(50_000);
  });
});
