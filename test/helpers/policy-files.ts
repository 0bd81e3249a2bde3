import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { isPolicyFile, type PolicyFiles } from '../../src/policy/policy-files.js';

export const EXAMPLE_POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

/** The example policy set as PolicyFiles, with some files replaced (a string) or removed (null). */
export function examplePolicyFiles(changes: Record<string, string | null> = {}): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(EXAMPLE_POLICIES).sort()) {
    if (isPolicyFile(name)) files.set(name, readFileSync(path.join(EXAMPLE_POLICIES, name), 'utf8'));
  }
  for (const [name, text] of Object.entries(changes)) {
    if (text === null) files.delete(name);
    else files.set(name, text);
  }
  return files satisfies PolicyFiles;
}
