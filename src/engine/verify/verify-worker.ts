// The engine verifier's thread: cedar-wasm answers sampled calls here, off the serving thread
// (engine-verifier.ts).
import '../../cedar/engine-flags.js';

import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

import { OracleSets } from './oracle-sets.js';
import type { ToVerifier } from './verify-messages.js';

// Lowest priority for this thread: where cores are few, verification yields to the thread that answers checks.
try {
  setPriority(19);
} catch {
  // Not permitted: verify at normal priority.
}

const oracle = new OracleSets(workerData as ConstructorParameters<typeof OracleSets>[0]);
const port = parentPort!;
port.on('message', (message: ToVerifier) => {
  const reply = oracle.handle(message);
  if (reply !== undefined) port.postMessage(reply);
});
