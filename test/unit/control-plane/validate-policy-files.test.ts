import { describe, expect, it } from 'vitest';
import { validatePolicyFiles } from '../../../src/control-plane/validate-policy-files.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

describe('validatePolicyFiles', () => {
  it('passes the example set', async () => {
    expect(await validatePolicyFiles(examplePolicyFiles())).toEqual([]);
  });

  it('lists every problem of a broken set, by file', async () => {
    const problems = await validatePolicyFiles(
      examplePolicyFiles({ 'accounts.cedar': 'permit (principal, action, resource) when {', 'routes.yaml': null }),
    );
    expect(problems).toContain('routes.yaml: missing');
    expect(problems.some((p) => p.startsWith('accounts.cedar: '))).toBe(true);
  });
});
