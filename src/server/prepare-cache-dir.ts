import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ConfigError } from '../config/config-error.js';
import { makeDir } from '../util/make-dir.js';

/**
 * Creates a cache directory at start-up and proves it writable, so that one that cannot be used (a typo, a
 * read-only mount, a path under /proc) is a start-up error naming the setting, not a failure on every
 * later write.
 */
export async function prepareCacheDir(dir: string, setting: string): Promise<void> {
  const probe = path.join(dir, `.authzd-write-probe-${process.pid}`);
  try {
    await makeDir(dir, 0o700);
    await writeFile(probe, '', { mode: 0o600 });
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`${setting} ${dir}: cannot create or write it: ${code ?? (err as Error).message}`]);
  }
}
