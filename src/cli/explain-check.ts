import { CheckPipeline } from '../check/check-pipeline.js';
import type { Config } from '../config/config-schema.js';
import { formatExplanation } from '../engine/native/format-explanation.js';
import { NativeDecisionEngine } from '../engine/native/native-decision-engine.js';
import { PolicyStore } from '../engine/policy-store.js';
import { compilePolicyModel } from '../policy/compile-policy-model.js';
import { readPolicyDir } from '../policy/policy-files.js';
import { EMBEDDED_POLICIES } from '../server/start-authzd.js';
import { TokenVerifier } from '../token/token-verifier.js';

/**
 * `authzd check --explain`: the CheckRequest decided in this process by the sidecar's own pipeline (its
 * configuration, its policy directory, its token issuers) with the native engine, then every policy's
 * evaluation shown. A running sidecar never explains over the wire: deny bodies carry a reason code and a
 * decision id, never internals (docs/security.md). Local only: no remote tier, no revocation feed, no cache.
 */
export async function explainCheck(config: Config, request: unknown): Promise<{ code: number; text: string }> {
  if (config.bundle.url !== undefined)
    return {
      code: 1,
      text: 'authzd check --explain reads a policy directory: pass --policies DIR (bundles are not fetched here)\n',
    };
  const model = compilePolicyModel(await readPolicyDir(config.policies.directory ?? EMBEDDED_POLICIES));
  const engine = new NativeDecisionEngine({ validateRequests: config.policies.validateRequests });
  const store = new PolicyStore(engine);
  store.activate(model);
  const verifier = new TokenVerifier(config.tokens, { now: Date.now });
  try {
    const pipeline = new CheckPipeline({
      config,
      store,
      engine,
      verifier,
      now: Date.now,
      newId: () => 'explain',
      localOnly: true,
    });
    const outcome = await pipeline.check(request as Parameters<CheckPipeline['check']>[0]);
    if (outcome.kind === 'error')
      return { code: 1, text: `ERROR  reason=${outcome.failure.reason}  ${outcome.failure.detail}\n` };
    const d = outcome.decision;
    const lines = [
      `${d.allowed ? 'ALLOW' : 'DENY '}  reason=${d.reason}  (decided here, policy version ${model.version})`,
    ];
    if (d.policies.length > 0) lines.push(`  policies         ${d.policies.join(', ')}`);
    if (d.detail !== undefined) lines.push(`  detail           ${d.detail}`);
    if (d.input === undefined) lines.push('no policy was evaluated: the request was decided before the policies');
    else {
      const set = store.acquire()!;
      try {
        lines.push(
          'explain',
          ...formatExplanation(engine.explain(set, d.input), (id) => model.policyInfo.get(id)?.file).map(
            (l) => `  ${l}`,
          ),
        );
      } finally {
        store.release(set);
      }
    }
    return { code: d.allowed ? 0 : 2, text: `${lines.join('\n')}\n` };
  } finally {
    verifier.close();
  }
}
