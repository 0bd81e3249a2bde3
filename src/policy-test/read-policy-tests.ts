import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** Policy test files by name relative to the policy directory (`tests/accounts.yaml`) -> their text. */
export type PolicyTestFiles = ReadonlyMap<string, string>;

/** The folder of a policy directory that holds its tests. readPolicyDir takes top-level files only, so it never reads them as policy. */
export const TESTS_FOLDER = 'tests';

export function isPolicyTestFile(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** `DIR/tests/*.yaml` (and `*.yml`), sorted by name; empty when the folder does not exist. */
export async function readPolicyTests(dir: string): Promise<PolicyTestFiles> {
  const folder = path.join(dir, TESTS_FOLDER);
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const files = new Map<string, string>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!isPolicyTestFile(entry.name)) continue;
    const file = path.join(folder, entry.name);
    // As in readPolicyDir: a symlink to a regular file (a Kubernetes ConfigMap mount) counts as a file.
    if (!entry.isFile() && !(entry.isSymbolicLink() && (await stat(file)).isFile())) continue;
    files.set(`${TESTS_FOLDER}/${entry.name}`, await readFile(file, 'utf8'));
  }
  return files;
}
