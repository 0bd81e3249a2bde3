import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { replaceDurably } from '../../../src/util/write-durably.js';

describe('replaceDurably', () => {
  it('replaces a file whole, private to its owner, and leaves no temporary file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-durable-'));
    const file = path.join(dir, 'state.json');
    writeFileSync(file, 'old');
    await replaceDurably(file, 'new content');
    expect(readFileSync(file, 'utf8')).toBe('new content');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await replaceDurably(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('fails without touching the old file or leaving a temporary one when the directory is gone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-durable-'));
    await expect(replaceDurably(path.join(dir, 'missing', 'state.json'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});
