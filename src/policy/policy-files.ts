import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** The files of a policy set, by name: what a policy directory holds and a bundle carries. */
export type PolicyFiles = ReadonlyMap<string, string>;

/** Which file names belong to a policy set. Anything else in the directory is ignored. */
export function isPolicyFile(name: string): boolean {
  return name.endsWith('.cedar') || name === 'schema.cedarschema' || name === 'entities.json' || name === 'routes.yaml';
}

export async function readPolicyDir(dir: string): Promise<PolicyFiles> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!isPolicyFile(entry.name)) continue;
    const file = path.join(dir, entry.name);
    // Kubernetes mounts each ConfigMap key as a symlink into `..data/`: a link to a regular file is a policy file.
    if (!entry.isFile() && !(entry.isSymbolicLink() && (await stat(file)).isFile())) continue;
    files.set(entry.name, await readFile(file, 'utf8'));
  }
  return files;
}
