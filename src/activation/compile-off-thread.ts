import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { type BundleInfo } from '../bundle/bundle-format.js';
import { BundleRejectedError } from '../bundle/bundle-rejections.js';
import { verifyWithTrust } from '../bundle/verify-with-trust.js';
import { compilePolicyModel, type PolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import { EntityStore } from '../policy/entity-store.js';
import { decodeEntities, decodeModelParts, type ModelParts, restoreModel } from '../policy/model-parts.js';
import { type PolicyFiles, readPolicyDir } from '../policy/policy-files.js';
import { type CompileSource, type MainMessage, type WorkerMessage } from './compile-messages.js';

const WORKER = new URL('./compile-worker.js', import.meta.url);

/** Where a policy set comes from, as the caller has it. */
export type PolicySource =
  { readonly directory: string } | { readonly files: PolicyFiles } | Extract<CompileSource, { bundle: Uint8Array }>;

export interface CompiledSet {
  readonly model: PolicyModel;
  /** Set when the source was a bundle: what was verified. */
  readonly bundle: BundleInfo | undefined;
}

/**
 * Verification and compilation on a worker thread. Unpacking and verifying a bundle, then parsing,
 * validating and indexing the set take seconds of CPU for large sets (1,000 policies: ~2 s; 100,000
 * entities: more), which on the serving thread would stall every check. Here the serving thread only
 * receives the result, as JSON text, with the entities in chunks it asks for one at a time, so its event
 * loop keeps turning. Running from TypeScript sources (unit tests), where the compiled worker file does
 * not exist, the same work runs in-thread.
 */
export function compileOffThread(source: PolicySource, version?: string): Promise<CompiledSet> {
  if (!existsSync(fileURLToPath(WORKER))) return compileInThread(source, version);
  const request: CompileSource = 'files' in source ? { files: [...source.files] } : source;
  // Jobs run one at a time on the one worker; callers (the activator) already serialise them.
  const job = jobs.then(() => runJob(request, version));
  jobs = job.catch(() => undefined);
  return job;
}

let jobs: Promise<unknown> = Promise.resolve();
let shared: { worker: Worker; idle: NodeJS.Timeout | undefined } | undefined;
// Long enough for a burst of activations (an edit saved twice, a bundle and its retry) to share the engine load;
// short enough that the worker's heap and engine memory go back soon after.
const IDLE_MS = 5_000;

/** The compile worker, started on first use and stopped after a minute without jobs (it holds an engine). */
function compileWorker(): Worker {
  if (shared !== undefined) {
    clearTimeout(shared.idle);
    shared.idle = undefined;
    return shared.worker;
  }
  const worker = new Worker(WORKER);
  worker.unref();
  const entry: { worker: Worker; idle: NodeJS.Timeout | undefined } = { worker, idle: undefined };
  worker.on('exit', () => {
    if (shared === entry) shared = undefined;
  });
  shared = entry;
  return worker;
}

function releaseWorker(): void {
  if (shared === undefined) return;
  const entry = shared;
  entry.idle = setTimeout(() => {
    if (shared === entry) shared = undefined;
    void entry.worker.terminate();
  }, IDLE_MS);
  entry.idle.unref();
}

function runJob(request: CompileSource, version: string | undefined): Promise<CompiledSet> {
  const worker = compileWorker();
  return new Promise<CompiledSet>((resolve, reject) => {
    let parts: ModelParts | undefined;
    let bundle: BundleInfo | undefined;
    const entities = EntityStore.restoring();
    const finish = (fn: () => void, healthy: boolean) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (healthy) releaseWorker();
      else {
        if (shared?.worker === worker) shared = undefined;
        void worker.terminate();
      }
      fn();
    };
    const onMessage = (message: WorkerMessage) => {
      switch (message.type) {
        case 'verified':
          bundle = message.bundle;
          return;
        case 'bundle-rejected':
          finish(() => reject(new BundleRejectedError(message.reason, message.detail)), true);
          return;
        case 'model':
          parts = decodeModelParts(message.json);
          return;
        case 'entities':
          entities.add(decodeEntities(message.json));
          // Let the event loop turn (checks, timers) before the next chunk arrives.
          setImmediate(() => worker.postMessage({ type: 'next' } satisfies MainMessage));
          return;
        case 'done': {
          const model = restoreModel(parts!, entities.done());
          finish(() => resolve({ model, bundle }), true);
          return;
        }
        case 'rejected':
          finish(() => reject(new PolicyModelError(message.problems)), true);
          return;
        case 'crashed':
          finish(() => reject(new Error(`policy compilation failed: ${message.message}`)), false);
      }
    };
    const onError = (err: Error) => finish(() => reject(err), false);
    const onExit = (code: number) =>
      finish(() => reject(new Error(`policy compile worker exited with code ${code}`)), false);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ type: 'compile', source: request, version } satisfies MainMessage);
  });
}

async function compileInThread(source: PolicySource, version?: string): Promise<CompiledSet> {
  if ('directory' in source)
    return { model: compilePolicyModel(await readPolicyDir(source.directory), version), bundle: undefined };
  if ('files' in source) return { model: compilePolicyModel(source.files, version), bundle: undefined };
  const result = await verifyWithTrust(source.bundle, source.trust);
  if (!result.ok) throw new BundleRejectedError(result.reason, result.detail);
  const { revision, digest, kid, created, scope, files } = result.bundle;
  return {
    model: compilePolicyModel(files, version ?? String(revision)),
    bundle: { revision, digest, kid, created, scope },
  };
}
