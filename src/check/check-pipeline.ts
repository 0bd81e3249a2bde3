import type { Config } from '../config/config-schema.js';
import type { CedarCall, PolicyEngine, PreparedPolicySet } from '../policy/policy-engine.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { extractBearer } from '../token/extract-bearer.js';
import type { TokenVerifier, VerifiedToken } from '../token/token-verifier.js';
import { buildHttpCall, buildNetworkCall } from './build-cedar-call.js';
import type { CheckRequestMessage } from './check-request.js';
import type { CheckOutcome, Decision, DecisionSource } from './decision.js';
import { type DecisionCache, decisionKey } from './decision-cache.js';
import { type Evaluation, evaluationFromAnswer } from './evaluate-policies.js';
import { extractRequest, type HttpFacts, type RequestFacts } from './extract-request.js';
import { normalizePath } from './normalize-path.js';
import type { DenyReason, ErrorReason } from './reasons.js';

export interface PipelineDeps {
  readonly config: Config;
  readonly store: PolicyStore;
  readonly engine: PolicyEngine;
  readonly verifier: TokenVerifier;
  readonly now: () => number;
  readonly newId: () => string;
  /** Reuses engine decisions for identical inputs; absent: every request is evaluated. */
  readonly decisionCache?: DecisionCache;
  /** Bumped by revocations and risk changes; part of every decision-cache key. */
  readonly epoch?: () => number;
  /** Live revocations, checked for every token after its signature (cached tokens included). */
  readonly revocations?: { isRevoked(claims: VerifiedToken['claims'], nowSeconds: number): boolean };
  /** Observes the engine's own time per evaluation (seconds). */
  readonly onEvaluation?: (seconds: number) => void;
}

type Decided = Omit<Decision, 'id' | 'policyVersion'>;

const NONE = {
  routeId: undefined,
  principal: undefined,
  action: undefined,
  resource: undefined,
  tenant: undefined,
  issuer: undefined,
  request: undefined,
  detail: undefined,
  policies: [] as readonly string[],
  tokenPresented: false,
} as const;

/**
 * One Check call: extract -> normalise path -> authenticate -> route -> authorize. Each stage either
 * hands on to the next or ends the call with a reason. The pipeline never throws: an unexpected failure
 * becomes an `internal_error` outcome, which the server answers with a gRPC error.
 */
export class CheckPipeline {
  readonly #deps: PipelineDeps;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
  }

  async check(message: CheckRequestMessage): Promise<CheckOutcome> {
    const id = this.#deps.newId();
    const set = this.#deps.store.acquire();
    if (set === undefined) return failure(id, 'policy_unavailable', undefined, 'no policy set is active');
    try {
      const decided = await this.#decide(message, set);
      if ('error' in decided) return failure(id, decided.error, set.model.version, decided.detail);
      return { kind: 'decision', decision: { ...decided, id, policyVersion: set.model.version } };
    } catch (err) {
      return failure(id, 'internal_error', set.model.version, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    } finally {
      this.#deps.store.release(set);
    }
  }

  async #decide(message: CheckRequestMessage, set: PreparedPolicySet): Promise<Decided | { error: ErrorReason; detail: string }> {
    const extracted = extractRequest(message, this.#deps.now());
    if (!extracted.ok) return deny('request', 'request_invalid', { detail: extracted.detail });
    const facts = extracted.facts;
    if (facts.http === undefined) return this.#decideNetwork(facts, set);
    const http = facts.http;
    const request = { method: http.method, path: http.rawPath, host: http.host, id: http.requestId };

    const path = normalizePath(http.rawPath);
    if (!path.ok) return deny('request', 'path_invalid', { request, detail: path.detail });
    request.path = path.value.path;

    const tokens = this.#deps.config.tokens;
    const bearer = extractBearer(http.header(tokens.header), tokens);
    if ('reason' in bearer) return deny('authentication', bearer.reason, { request, tokenPresented: bearer.reason !== 'token_missing' });
    const pending = this.#deps.verifier.verify(bearer.token);
    // A cache hit answers synchronously; awaiting it anyway would cost a turn of the microtask queue.
    const verified = pending instanceof Promise ? await pending : pending;
    if (!verified.ok) {
      if (verified.reason === 'jwks_unavailable') return { error: 'jwks_unavailable', detail: 'key set unavailable' };
      return deny('authentication', verified.reason, { request, tokenPresented: true });
    }
    const token = verified.token;
    const issuer = token.issuer.issuer;
    if (this.#deps.revocations?.isRevoked(token.claims, Math.floor(this.#deps.now() / 1000))) {
      return deny('authentication', 'token_revoked', { request, tokenPresented: true, issuer });
    }

    const model = set.model;
    const match = model.routes.match(http.method, path.value.segments);
    if (match === undefined) return deny('routing', 'route_not_found', { request, tokenPresented: true, issuer });

    const built = buildHttpCall(model, facts as RequestFacts & { http: HttpFacts }, path.value, match, token);
    if (built === undefined) {
      return deny('authentication', 'token_claims_invalid', { request, tokenPresented: true, issuer, routeId: match.route.id, detail: 'principal id claim missing' });
    }
    const { call, tenant } = built;
    const { evaluation, source } = this.#evaluateCached(set, call, model.mapping.riskClasses[match.route.risk].cacheTtlSeconds);
    return {
      ...NONE,
      allowed: evaluation.allowed,
      reason: evaluation.reason,
      source,
      policies: evaluation.policies,
      routeId: match.route.id,
      principal: call.principal,
      action: call.action.id,
      resource: call.resource,
      tenant: tenant ?? tenantOf(call.resource, model),
      issuer,
      tokenPresented: true,
      request,
      detail: evaluation.detail,
    };
  }

  #decideNetwork(facts: RequestFacts, set: PreparedPolicySet): Decided {
    const call = buildNetworkCall(set.model, facts);
    if (call === undefined) return deny('request', 'peer_unauthenticated', {});
    const { evaluation, source } = this.#evaluateCached(set, call, set.model.mapping.riskClasses.medium.cacheTtlSeconds);
    return {
      ...NONE,
      allowed: evaluation.allowed,
      reason: evaluation.reason,
      source,
      policies: evaluation.policies,
      principal: call.principal,
      action: call.action.id,
      resource: call.resource,
      detail: evaluation.detail,
    };
  }

  #evaluateCached(set: PreparedPolicySet, call: CedarCall, ttlSeconds: number): { evaluation: Evaluation; source: DecisionSource } {
    const cache = this.#deps.decisionCache;
    if (cache === undefined || ttlSeconds === 0) {
      return { evaluation: evaluationFromAnswer(this.#evaluate(set, call), this.#deps.config.policies.onError), source: 'engine' };
    }
    const key = decisionKey(set.model.version, this.#deps.epoch?.() ?? 0, call, set.model.contextReads);
    const now = this.#deps.now();
    const cached = cache.get(key, now);
    if (cached !== undefined) return { evaluation: cached, source: 'cache' };
    const evaluation = evaluationFromAnswer(this.#evaluate(set, call), this.#deps.config.policies.onError);
    cache.set(key, evaluation, ttlSeconds * 1000, now);
    return { evaluation, source: 'engine' };
  }

  #evaluate(set: PreparedPolicySet, call: CedarCall) {
    const start = process.hrtime.bigint();
    const answer = this.#deps.engine.authorize(set, call);
    this.#deps.onEvaluation?.(Number(process.hrtime.bigint() - start) / 1e9);
    return answer;
  }
}

function deny(source: DecisionSource, reason: DenyReason, fields: Partial<Omit<Decision, 'allowed' | 'reason' | 'source'>>): Decided {
  return { ...NONE, ...fields, allowed: false, reason, source };
}

function failure(id: string, reason: ErrorReason, policyVersion: string | undefined, detail: string): CheckOutcome {
  return { kind: 'error', failure: { id, reason, policyVersion, detail } };
}

function tenantOf(resource: { type: string; id: string }, model: PreparedPolicySet['model']): string | undefined {
  const tenant = model.entities.get(resource)?.attrs.tenant;
  return typeof tenant === 'string' ? tenant : undefined;
}
