import { compileOffThread } from '../activation/compile-off-thread.js';
import { CheckPipeline, type PipelineDeps } from '../check/check-pipeline.js';
import { ShadowEvaluator } from '../check/shadow-evaluator.js';
import type { Config } from '../config/config-schema.js';
import type { DecisionEngine } from '../engine/decision-engine.js';
import { PolicyStore } from '../engine/policy-store.js';
import type { RevocationList } from '../revocation/revocation-list.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { TokenVerifier } from '../token/token-verifier.js';

/**
 * The shadow: when `shadow.policies` names a candidate policy directory, a second pipeline with its own
 * policy store (same engine, verifier and revocations; no caches, no remote tier, no rate limits, no
 * assertions) decides sampled live requests after they were answered. Disagreements are counted by route
 * and both reasons, and logged with both results.
 */
export async function startShadow(
  config: Config,
  deps: {
    engine: DecisionEngine;
    verifier: TokenVerifier;
    revocations: RevocationList;
    peerTrusted: NonNullable<PipelineDeps['peerTrusted']>;
    now: () => number;
    logger: Logger;
    metrics: Metrics;
  },
): Promise<ShadowEvaluator | undefined> {
  const directory = config.shadow.policies;
  if (directory === undefined) return undefined;
  const store = new PolicyStore(deps.engine);
  const { model } = await compileOffThread({ directory });
  await store.activateAsync(model);
  deps.logger.info(
    { shadowVersion: model.version, directory, sampleRate: config.shadow.sampleRate },
    'shadow policy set active (decides nothing, only compared)',
  );
  let n = 0;
  const pipeline = new CheckPipeline({
    config,
    store,
    engine: deps.engine,
    verifier: deps.verifier,
    now: deps.now,
    newId: () => `shadow-${++n}`,
    revocations: deps.revocations,
    peerTrusted: deps.peerTrusted,
    localOnly: true,
  });
  return new ShadowEvaluator({
    pipeline,
    sampleRate: config.shadow.sampleRate,
    report: (c) => {
      deps.metrics.shadowEvaluations.inc({ result: c.agree ? 'agree' : 'disagree' });
      if (c.agree) return;
      deps.metrics.shadowDisagreements.inc({
        route: c.route,
        active_reason: c.active.reason,
        shadow_reason: c.shadow.reason,
      });
      deps.logger.info(
        { decision_id: c.decisionId, route: c.route, active: c.active, shadow: c.shadow },
        'shadow policy disagrees',
      );
    },
  });
}
