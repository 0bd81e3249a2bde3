import { CheckPipeline } from '../check/check-pipeline.js';
import { ConfigSchema } from '../config/config-schema.js';
import { deepFreeze } from '../config/deep-freeze.js';
import type { CedarCall } from '../contract/cedar-call.js';
import type { Reason } from '../contract/reasons.js';
import { createDecisionEngine } from '../engine/create-decision-engine.js';
import type { DecisionEngine } from '../engine/decision-engine.js';
import { formatExplanation } from '../engine/native/format-explanation.js';
import { NativeDecisionEngine, type NativePreparedSet } from '../engine/native/native-decision-engine.js';
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
  /**
   * How the native engine evaluates the case's Cedar request, policy by policy (for a failed case); undefined
   * when the case never reached the policies (a token or route failure).
   */
  explain(c: PolicyTestCase): Promise<string[] | undefined>;
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
  const engine = options.engine ?? createDecisionEngine(config).engine;
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

  const run = async (c: PolicyTestCase): Promise<{ outcome: CaseOutcome; input: CedarCall | undefined }> => {
    const token = c.claims !== undefined ? await issuer.sign(c.claims) : undefined;
    if (c.action !== undefined) {
      const d = await decideDirectCase(direct, c, token!);
      return {
        outcome: { decision: d.allowed ? 'allow' : 'deny', reason: d.reason, policies: d.policies, detail: d.detail },
        input: d.input,
      };
    }
    const outcome = await pipeline.check(buildTestRequest(c, token));
    if (outcome.kind === 'error')
      return {
        outcome: { decision: 'error', reason: outcome.failure.reason, policies: [], detail: outcome.failure.detail },
        input: undefined,
      };
    const d = outcome.decision;
    return {
      outcome: { decision: d.allowed ? 'allow' : 'deny', reason: d.reason, policies: d.policies, detail: d.detail },
      input: d.input,
    };
  };
  // Explanations come from the native engine whichever engine decides: prepared on first use.
  let explainer: { engine: NativeDecisionEngine; set: NativePreparedSet } | undefined;

  return {
    async decide(c) {
      return (await run(c)).outcome;
    },
    async explain(c) {
      const { input } = await run(c);
      if (input === undefined) return undefined;
      if (explainer === undefined) {
        const native = new NativeDecisionEngine({ validateRequests: config.policies.validateRequests });
        explainer = { engine: native, set: native.prepare(model) };
      }
      return formatExplanation(explainer.engine.explain(explainer.set, input), (id) => model.policyInfo.get(id)?.file);
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
