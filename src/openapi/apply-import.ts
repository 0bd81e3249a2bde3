import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { replaceDurably } from '../util/write-durably.js';
import { STATE_FILE } from './import-state.js';
import type { ImportPlan } from './plan-import.js';

// Each file is replaced atomically; the directory as a whole is not. The schema goes first, so that
// routes naming new actions never precede their declarations; a watcher that reads the directory between
// two writes may still see a set that does not compile (say, an action removed while its route is still
// there), which the sidecar and the control plane refuse, keeping the active set until the last write.
// The state file goes last, so an interrupted import is simply run again.
const ORDER = ['schema.cedarschema', 'routes.yaml', STATE_FILE];

/** Writes what planImport planned; returns the names written, in order. */
export async function applyImport(plan: ImportPlan): Promise<string[]> {
  const dir = plan.report.policyDir;
  await mkdir(dir, { recursive: true });
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : 0.5);
  const names = [...plan.writes.keys()].sort((a, b) => rank(a) - rank(b));
  for (const name of names) await replaceDurably(path.join(dir, name), plan.writes.get(name)!, 'keep');
  return names;
}
