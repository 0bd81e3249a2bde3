import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { makeDir } from '../../../src/util/make-dir.js';

const dir = mkdtempSync(path.join(tmpdir(), 'authzd-make-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('makeDir', () => {
  it('creates every missing level, with the mode asked for, and accepts a directory that exists', async () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    await makeDir(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(path.join(dir, 'a')).mode & 0o777).toBe(0o700);
    await expect(makeDir(deep)).resolves.toBeUndefined();
    await expect(makeDir(`${deep}/`)).resolves.toBeUndefined();
  });

  it('refuses a file in the way', async () => {
    writeFileSync(path.join(dir, 'file'), '');
    await expect(makeDir(path.join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDir(path.join(dir, 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it("fails under /proc, where Node's recursive mkdir never returns", async () => {
    await expect(makeDir('/proc/authzd-make-dir-test/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
