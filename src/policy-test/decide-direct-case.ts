import { buildHttpCall, type CallExtras } from '../check/build-cedar-call.js';
import type { HttpFacts, RequestFacts } from '../check/extract-request.js';
import { riskSignals } from '../check/risk-signals.js';
import { workloadIdentity } from '../check/workload-identity.js';
import type { Config } from '../config/config-schema.js';
import type { Decision } from '../contract/decision.js';
import { evaluateCall } from '../decide/evaluate-call.js';
import { stepUpFor } from '../decide/step-up.js';
import type { DecisionEngine } from '../engine/decision-engine.js';
import type { PolicyStore } from '../engine/policy-store.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import { qualifyType } from '../policy/qualify-type.js';
import type { RouteMatch } from '../policy/route-table.js';
import type { TokenVerifier } from '../token/token-verifier.js';
import { caseMetadata, caseTimeMs, DEFAULT_TEST_HOST } from './build-test-request.js';
import type { PolicyTestCase } from './policy-test-schema.js';

export interface DirectDeps {
  readonly config: Config;
  readonly store: PolicyStore;
  readonly engine: DecisionEngine;
  readonly verifier: TokenVerifier;
  readonly now: () => number;
}

export type DirectDecision = Pick<Decision, 'allowed' | 'reason' | 'policies' | 'detail'> & {
  readonly input?: Decision['input'];
};

const NO_PATH = { segments: [], path: '' } as const;

/**
 * A case that names its action and resource instead of an HTTP request. No CheckRequest can say that, so
 * this runs the sidecar's stages from authentication on with the route's place taken by the case: the
 * token through the same verifier, the Cedar request from buildHttpCall, the engine's answer through
 * evaluateCall and stepUpFor. There is no HTTP request, so context.request's method, path and
 * routeId are empty strings; there is no route, so no risk class (no rate limit, no remote tier).
 */
export async function decideDirectCase(deps: DirectDeps, c: PolicyTestCase, token: string): Promise<DirectDecision> {
  const verified = await deps.verifier.verify(token);
  if (!verified.ok) {
    if (verified.reason === 'jwks_unavailable') throw new Error('the runner could not read its own key set');
    return { allowed: false, reason: verified.reason, policies: [], detail: undefined };
  }
  const set = deps.store.acquire();
  if (set === undefined) throw new Error('no policy set is active');
  try {
    const model = set.model;
    const context = c.context ?? {};
    const facts: RequestFacts & { readonly http: HttpFacts } = {
      http: {
        method: '',
        rawPath: '',
        host: context.host ?? DEFAULT_TEST_HOST,
        scheme: 'https',
        requestId: undefined,
        header: () => undefined,
      },
      source: { ip: context.sourceIp, port: undefined, principal: c.peer?.source },
      destination: { ip: context.destinationIp, port: context.destinationPort, principal: c.peer?.destination },
      timeMs: caseTimeMs(context) ?? deps.now(),
      contextExtensions: context.extensions ?? {},
      filterMetadata: caseMetadata(context),
    };
    const resource = c.resource!;
    const match: RouteMatch = {
      route: {
        id: '',
        action: c.action!,
        resourceType: qualifyType(model.namespace, resource.type),
        risk: 'medium',
        allowWorkloads: false,
        resourceId: () => resource.id,
      },
      params: {},
    };
    const built = buildHttpCall(
      model,
      facts,
      NO_PATH,
      match,
      { kind: 'user', token: verified.token },
      extras(model, facts, deps.config),
    );
    if (built === undefined)
      return { allowed: false, reason: 'token_claims_invalid', policies: [], detail: 'principal id claim missing' };
    const evaluation = evaluateCall(deps.engine, set, built.call, deps.config.policies.onError);
    const stepUp = stepUpFor(evaluation, model);
    return {
      allowed: evaluation.allowed,
      reason: stepUp !== undefined ? 'step_up_required' : evaluation.reason,
      policies: evaluation.policies,
      detail: evaluation.detail,
      input: built.call,
    };
  } finally {
    deps.store.release(set);
  }
}

/**
 * Peer and risk facts as CheckPipeline puts them into the context (there a private step): only when some
 * policy reads them. The runner trusts no peer and counts no request rate, like the pipeline it drives.
 */
function extras(model: PolicyModel, facts: RequestFacts, config: Config): CallExtras {
  const reads = (root: string) => model.contextReads === 'all' || model.contextReads.some((r) => r.path[0] === root);
  return {
    peer: reads('peer') ? workloadIdentity(facts, false) : undefined,
    risk: reads('risk') ? riskSignals(facts, config.riskSignals, false, 0) : undefined,
  };
}
