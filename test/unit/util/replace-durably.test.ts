import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { replaceDurably } from '../../../src/util/write-durably.js';

describe('replaceDurably with the mode kept (policy files a person also edits)', () => {
  it('replaces the file in one rename, keeps its permissions and leaves no temporary file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-atomic-'));
    const file = path.join(dir, 'routes.yaml');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o640);
    const inode = statSync(file).ino;
    await replaceDurably(file, 'new\n', 'keep');
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    // A new inode: readers holding the old file keep reading the old content, whole.
    expect(statSync(file).ino).not.toBe(inode);
    await replaceDurably(path.join(dir, 'schema.cedarschema'), 'created\n', 'keep');
    expect(statSync(path.join(dir, 'schema.cedarschema')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['routes.yaml', 'schema.cedarschema']);
  });

  it('leaves the old file and no temporary file behind when the write fails', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-atomic-'));
    const file = path.join(dir, 'routes.yaml');
    writeFileSync(file, 'old\n');
    // Renaming over a directory fails after the temporary file was written and flushed.
    mkdirSync(path.join(dir, 'target', 'inside'), { recursive: true });
    await expect(replaceDurably(path.join(dir, 'target'), 'x', 'keep')).rejects.toThrow();
    await expect(replaceDurably(path.join(dir, 'missing', 'routes.yaml'), 'x', 'keep')).rejects.toThrow();
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(readdirSync(dir).sort()).toEqual(['routes.yaml', 'target']);
  });
});
