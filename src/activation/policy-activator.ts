import type { BundleInfo } from '../bundle/bundle-format.js';
import type { PolicyStore } from '../engine/policy-store.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { compileOffThread, type PolicySource } from './compile-off-thread.js';

export interface Activation {
  readonly version: string;
  readonly bundle: BundleInfo | undefined;
}

export type Activate = (source: PolicySource, version?: string) => Promise<Activation>;

/**
 * Activations, one at a time in the order asked for: verify and compile on a worker thread, prepare the
 * engine a slice per event-loop turn, then swap. Checks keep flowing on the active set throughout; a
 * failure at any stage leaves it in place and rejects with the cause. A failure is counted here and logged
 * by the caller, once, with what it means there: the bundle follower with its stage and reason, a reload
 * with the set that keeps serving, start-up by exiting with the problems.
 */
export function createActivator(deps: {
  store: PolicyStore;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  onActivated: () => void;
}): Activate {
  const { store, metrics, logger, now } = deps;
  let queue: Promise<unknown> = Promise.resolve();
  return (source, version) => {
    const run = async (): Promise<Activation> => {
      const started = process.hrtime.bigint();
      try {
        const { model, bundle } = await compileOffThread(source, version);
        const previous = store.version;
        await store.activateAsync(model);
        deps.onActivated();
        metrics.policyActivations.inc({ result: 'success' });
        if (previous !== undefined && previous !== model.version) metrics.policyInfo.remove({ version: previous });
        metrics.policyInfo.set({ version: model.version }, 1);
        metrics.policyLastActivation.set(now() / 1000);
        metrics.policies.set(Object.keys(model.policies).length);
        metrics.entities.set(model.entities.size);
        if (bundle !== undefined) metrics.bundleRevision.set(bundle.revision);
        for (const warning of model.warnings) logger.warn({ version: model.version }, warning);
        logger.info(
          {
            version: model.version,
            previous,
            ...(bundle !== undefined ? { revision: bundle.revision, signer: bundle.kid } : {}),
            policies: Object.keys(model.policies).length,
            slices: model.slicePlan.size,
            routes: model.routes.routes.length,
            entities: model.entities.size,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'policy set activated',
        );
        return { version: model.version, bundle };
      } catch (err) {
        metrics.policyActivations.inc({ result: 'failure' });
        throw err;
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };
}
