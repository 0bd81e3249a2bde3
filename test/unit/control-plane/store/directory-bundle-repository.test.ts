import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DirectoryBundleRepository } from '../../../../src/control-plane/store/directory/directory-bundle-repository.js';

const tempDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'authzd-bundles-')), 'bank');

describe('DirectoryBundleRepository', () => {
  it('stores each revision once: a second writer of the same number is refused, not allowed to overwrite', async () => {
    const dir = tempDir();
    const a = await DirectoryBundleRepository.open(dir);
    const b = await DirectoryBundleRepository.open(dir);
    expect(await a.create(1, Buffer.from('from a'))).toBe(true);
    expect(await b.create(1, Buffer.from('from b'))).toBe(false);
    expect(Buffer.from(await b.read(1)).toString()).toBe('from a');
    expect(await b.create(2, Buffer.from('from b'))).toBe(true);
    expect(await a.revisions()).toEqual([2, 1]);
    // Nothing is left behind in tmp/.
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('records the pointer by replacing it whole, and refuses a corrupt one', async () => {
    const repo = await DirectoryBundleRepository.open(tempDir());
    expect(await repo.readPointer()).toBeUndefined();
    await repo.writePointer({ revision: 3, digest: 'abc' });
    await repo.writePointer({ revision: 4, digest: 'def' });
    expect(await repo.readPointer()).toEqual({ revision: 4, digest: 'def' });
    writeFileSync(path.join(repo.dir, 'current.json'), '{"revision": "4"}');
    await expect(repo.readPointer()).rejects.toThrow('current.json: expected {"revision": integer, "digest": string}');
  });

  it('prunes to the newest revisions but never the protected (served) one', async () => {
    const repo = await DirectoryBundleRepository.open(tempDir());
    for (let r = 1; r <= 6; r++) await repo.create(r, Buffer.from(String(r)));
    expect(await repo.prune(2, 1)).toEqual([4, 3, 2]);
    expect(await repo.revisions()).toEqual([6, 5, 1]);
  });
});
