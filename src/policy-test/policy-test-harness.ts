import { CheckPipeline } from '../check/check-pipeline.js';
import { ConfigSchema } from '../config/config-schema.js';
import { deepFreeze } from '../config/deep-freeze.js';
import type { Reason } from '../contract/reasons.js';
import { CedarWasmEngine } from '../engine/cedar-wasm/cedar-wasm-engine.js';
import type { DecisionEngine } from '../engine/decision-engine.js';
import { PolicyStore } from '../engine/policy-store.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import { TokenVerifier } from '../token/token-verifier.js';
import { buildTestRequest, TEST_RISK_NAMESPACE } from './build-test-request.js';
import { decideDirectCase } from './decide-direct-case.js';
import type { PolicyTestCase } from './policy-test-schema.js';
import { createThrowawayIssuer } from './throwaway-issuer.js';

/** What the sidecar answered for a case. `error` is a gRPC error (internal_error, ...), never expected. */
export interface CaseOutcome {
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: Reason;
  /** The determining policies: permits of an allow, forbids of a policy_denied, the failing ones of a policy_error. */
  readonly policies: readonly string[];
  /** The sidecar's internal detail (why a policy errored, what the schema refused); never sent to clients. */
  readonly detail: string | undefined;
}

export interface HarnessOptions {
  /**
   * The process's engine, when it already has one (the control plane): cedar-wasm keeps preparsed sets per
   * process under names each engine numbers from 0, so a second engine would overwrite the first's sets.
   */
  readonly engine?: DecisionEngine;
  /** As the sidecar's policies.onError. */
  readonly onError?: 'deny' | 'ignore';
}

export interface PolicyTestHarness {
  decide(c: PolicyTestCase): Promise<CaseOutcome>;
  /** Frees the prepared policy set in the engine. */
  close(): void;
}

/**
 * A sidecar for one policy set, minus the network: the real CheckPipeline over the model, a token verifier
 * that trusts only a throwaway issuer, no decision cache, rate limiter, remote tier, revocations or trusted
 * peers: every case is evaluated by the engine, on its own.
 */
export async function createPolicyTestHarness(
  model: PolicyModel,
  options: HarnessOptions = {},
): Promise<PolicyTestHarness> {
  const issuer = await createThrowawayIssuer();
  const config = deepFreeze(
    ConfigSchema.parse({
      policies: { onError: options.onError ?? 'deny' },
      tokens: issuer.tokens,
      riskSignals: { metadataNamespace: TEST_RISK_NAMESPACE },
    }),
  );
  let verifier: TokenVerifier;
  try {
    verifier = new TokenVerifier(config.tokens, { now: Date.now });
  } finally {
    issuer.removeKeyFile();
  }
  const engine =
    options.engine ??
    new CedarWasmEngine({ validateRequests: config.policies.validateRequests, slicing: config.policies.slicing });
  const store = new PolicyStore(engine);
  await store.activateAsync(model);
  let n = 0;
  // localOnly: every case is decided by this engine, never by a remote tier the runner does not have.
  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier,
    now: Date.now,
    newId: () => `policy-test-${++n}`,
    localOnly: true,
  });
  const direct = { config, store, engine, verifier, now: Date.now };

  return {
    async decide(c) {
      const token = c.claims !== undefined ? await issuer.sign(c.claims) : undefined;
      if (c.action !== undefined) {
        const d = await decideDirectCase(direct, c, token!);
        return { decision: d.allowed ? 'allow' : 'deny', reason: d.reason, policies: d.policies, detail: d.detail };
      }
      const outcome = await pipeline.check(buildTestRequest(c, token));
      if (outcome.kind === 'error')
        return { decision: 'error', reason: outcome.failure.reason, policies: [], detail: outcome.failure.detail };
      const d = outcome.decision;
      return { decision: d.allowed ? 'allow' : 'deny', reason: d.reason, policies: d.policies, detail: d.detail };
    },
    close() {
      verifier.close();
      // PolicyStore cannot retire its active set and is dropped here, so the set is handed back to the engine directly.
      const set = store.acquire();
      if (set === undefined) return;
      store.release(set);
      engine.retire(set);
    },
  };
}
