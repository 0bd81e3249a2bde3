import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p`, without Node's `{ recursive: true }`: that one spins forever, in the thread pool, when the
 * kernel answers ENOENT for a directory whose parent exists (any path under /proc, Node 20), so a process
 * asked to create such a directory neither fails nor finishes its SIGTERM. Here each missing level is
 * created once, and the first error that is not "exists already" is thrown.
 */
export async function makeDir(dir: string, mode?: number): Promise<void> {
  const target = path.resolve(dir);
  try {
    await mkdir(target, mode);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return mustBeDirectory(target, err);
    if (code !== 'ENOENT' || path.dirname(target) === target) throw err;
  }
  await makeDir(path.dirname(target), mode);
  try {
    await mkdir(target, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return mustBeDirectory(target, err);
    throw err;
  }
}

async function mustBeDirectory(target: string, err: unknown): Promise<void> {
  if (!(await stat(target)).isDirectory())
    throw Object.assign(new Error(`${target}: exists and is not a directory`), { code: 'ENOTDIR', cause: err });
}
