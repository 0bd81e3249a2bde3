import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { watchPolicyDir } from '../../../src/control-plane/watch-policy-dir.js';
import { contentVersion } from '../../../src/policy/compile-policy-model.js';
import { readPolicyDir } from '../../../src/policy/policy-files.js';
import { EXAMPLE_POLICIES } from '../../helpers/policy-files.js';

async function copy() {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-watch-')), 'policies');
  cpSync(EXAMPLE_POLICIES, dir, { recursive: true });
  return { dir, version: contentVersion(await readPolicyDir(dir)) };
}

describe('watchPolicyDir', () => {
  it('delivers each new content once, not the content it started with', async () => {
    const { dir, version } = await copy();
    const seen: string[] = [];
    const stop = watchPolicyDir(
      dir,
      async (files) => void seen.push(files.get('accounts.cedar')!.split('\n').at(-2)!),
      { initialVersion: version, debounceMs: 20, pollMs: 50 },
    );
    try {
      await appendFile(path.join(dir, 'accounts.cedar'), '// one\n');
      await expect.poll(() => seen).toEqual(['// one']);
      // Files that are not policy files do not count as a change.
      writeFileSync(path.join(dir, 'README.txt'), 'notes');
      await appendFile(path.join(dir, 'accounts.cedar'), '// two\n');
      await expect.poll(() => seen).toEqual(['// one', '// two']);
    } finally {
      stop();
    }
  });

  it('finds a change by polling alone, and hands content again after a handler failure', async () => {
    const { dir } = await copy();
    let calls = 0;
    // No initial version: the first poll delivers; the handler fails once, so the next poll delivers again.
    const stop = watchPolicyDir(
      dir,
      async () => {
        calls++;
        if (calls === 1) throw new Error('disk full');
      },
      { pollMs: 30, debounceMs: 60_000 },
    );
    try {
      await expect.poll(() => calls).toBe(2);
    } finally {
      stop();
    }
  });
});
