// The compile worker: a long-lived thread that verifies and compiles policy sets, one job at a time, and
// sends each result back in pieces, so the serving thread never parses, validates or indexes a policy set
// itself (see compile-off-thread.ts). It lives on between jobs because loading the Cedar engine into a
// fresh thread costs hundreds of milliseconds, which every activation would otherwise pay.
import '../cedar/engine-flags.js';

import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

import { verifyWithTrust } from '../bundle/verify-with-trust.js';
import { compilePolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import { exportModel } from '../policy/model-parts.js';
import { readPolicyDir } from '../policy/policy-files.js';
import { type CompileRequest, ENTITY_CHUNK, type MainMessage, type WorkerMessage } from './compile-messages.js';

// Lowest CPU priority for this thread (on Linux, setpriority on "0" applies to the calling thread only):
// where cores are few, compiling must yield to the thread that answers checks.
try {
  setPriority(19);
} catch {
  // Not permitted or not supported: compile at normal priority.
}

const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);
let askedForNext: (() => void) | undefined;
const nextChunkWanted = () => new Promise<void>((resolve) => (askedForNext = resolve));

port.on('message', (message: MainMessage) => {
  if (message.type === 'next') {
    askedForNext?.();
    askedForNext = undefined;
  } else {
    run(message).catch((err: unknown) => {
      if (err instanceof PolicyModelError) post({ type: 'rejected', problems: [...err.problems] });
      else post({ type: 'crashed', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    });
  }
});

async function run({ source, version }: CompileRequest): Promise<void> {
  const loaded = await loadSource(source, version);
  if (loaded === undefined) return;
  const model = compilePolicyModel(loaded.files, loaded.version);
  // One chunk in flight at a time: a MessagePort delivers every queued message in a single turn of the
  // receiving event loop, so sending all chunks at once would stall it for as long as storing them all.
  for (const piece of exportModel(model, ENTITY_CHUNK)) {
    if ('parts' in piece) {
      post({ type: 'model', json: piece.parts });
      continue;
    }
    const wanted = nextChunkWanted();
    post({ type: 'entities', json: piece.entities });
    await wanted;
  }
  post({ type: 'done' });
}

/** The policy files to compile, after verifying them when they come in a bundle. */
async function loadSource(
  from: CompileRequest['source'],
  requested: string | undefined,
): Promise<{ files: Map<string, string>; version: string | undefined } | undefined> {
  if ('directory' in from) return { files: new Map(await readPolicyDir(from.directory)), version: requested };
  if ('files' in from) return { files: new Map(from.files), version: requested };
  const result = await verifyWithTrust(from.bundle, from.trust);
  if (!result.ok) {
    post({ type: 'bundle-rejected', reason: result.reason, detail: result.detail });
    return undefined;
  }
  const { revision, digest, kid, created, scope } = result.bundle;
  post({ type: 'verified', bundle: { revision, digest, kid, created, scope } });
  return { files: result.bundle.files, version: requested ?? String(revision) };
}
