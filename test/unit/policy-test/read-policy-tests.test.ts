import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { compilePolicyModel, contentVersion } from '../../../src/policy/compile-policy-model.js';
import { readPolicyDir } from '../../../src/policy/policy-files.js';
import { readPolicyTests } from '../../../src/policy-test/read-policy-tests.js';
import { EXAMPLE_POLICIES, examplePolicyFiles } from '../../helpers/policy-files.js';

const temp = () => mkdtempSync(path.join(tmpdir(), 'authzd-policy-tests-'));

describe('readPolicyTests', () => {
  it('reads tests/*.yaml and *.yml by relative name, sorted, and nothing else', async () => {
    const dir = temp();
    mkdirSync(path.join(dir, 'tests', 'nested'), { recursive: true });
    writeFileSync(path.join(dir, 'tests', 'b.yaml'), 'B');
    writeFileSync(path.join(dir, 'tests', 'a.yml'), 'A');
    writeFileSync(path.join(dir, 'tests', 'notes.md'), 'not a test');
    writeFileSync(path.join(dir, 'tests', 'nested', 'c.yaml'), 'not read: tests/ is not searched recursively');
    writeFileSync(path.join(dir, 'elsewhere.yaml'), 'not in tests/');
    symlinkSync(path.join(dir, 'tests', 'b.yaml'), path.join(dir, 'tests', 'linked.yaml'));
    expect([...(await readPolicyTests(dir))]).toEqual([
      ['tests/a.yml', 'A'],
      ['tests/b.yaml', 'B'],
      ['tests/linked.yaml', 'B'],
    ]);
  });

  it('is empty without a tests/ folder', async () => {
    expect((await readPolicyTests(temp())).size).toBe(0);
  });

  it("finds the example policy set's tests", async () => {
    expect([...(await readPolicyTests(EXAMPLE_POLICIES)).keys()]).toEqual(
      expect.arrayContaining(['tests/accounts.yaml', 'tests/network.yaml']),
    );
  });
});

describe('a tests/ folder in a policy directory', () => {
  it('is not part of the policy set: readPolicyDir, the set it compiles and its version ignore it', async () => {
    const dir = path.join(temp(), 'policies');
    cpSync(EXAMPLE_POLICIES, dir, { recursive: true });
    const files = await readPolicyDir(dir);
    expect([...files.keys()].some((name) => name.includes('test'))).toBe(false);
    expect(files).toEqual(examplePolicyFiles());
    const before = contentVersion(files);
    writeFileSync(path.join(dir, 'tests', 'accounts.yaml'), '- this is not even a valid test file');
    const after = await readPolicyDir(dir);
    expect(contentVersion(after)).toBe(before);
    expect(Object.keys(compilePolicyModel(after).policies).length).toBeGreaterThan(0);
  });
});
