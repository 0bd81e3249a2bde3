import type { Config } from '../config/config-schema.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import type { CedarCall, PolicyEngine, PreparedPolicySet } from '../policy/policy-engine.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { RiskClassSettings } from '../policy/routes-schema.js';
import type { RouteMatch } from '../policy/route-table.js';
import { extractBearer } from '../token/extract-bearer.js';
import type { TokenVerifier, VerifiedToken } from '../token/token-verifier.js';
import { buildHttpCall, buildNetworkCall, type CallExtras, type Subject } from './build-cedar-call.js';
import type { CheckRequestMessage } from './check-request.js';
import type { CheckOutcome, Decision, DecisionSource, RateLimitState, RemoteOutcome } from './decision.js';
import { type DecisionCache, decisionKey } from './decision-cache.js';
import { type Evaluation, evaluationFromAnswer } from './evaluate-policies.js';
import { extractRequest, type HttpFacts, type RequestFacts } from './extract-request.js';
import { normalizePath } from './normalize-path.js';
import type { RateLimiter } from './rate-limiter.js';
import type { DenyReason, ErrorReason } from './reasons.js';
import type { RemoteDecider } from './remote-decider.js';
import type { RequestRate } from './request-rate.js';
import { riskSignals } from './risk-signals.js';
import { stepUpFor } from './step-up.js';
import { workloadIdentity } from './workload-identity.js';

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
  /** The remote tier (remote.url); absent: routes whose class requires it fail per their failure mode. */
  readonly remote?: RemoteDecider;
  readonly rateLimiter?: RateLimiter;
  readonly requestRate?: RequestRate;
  /** Whether the downstream peer may vouch for forwarded identities and risk headers. */
  readonly peerTrusted?: (peer: RequestFacts['source']) => boolean;
  /** Signs a decision assertion for an allowed request (assertions.enabled). */
  readonly assert?: (decision: Omit<Decision, 'assertion'>) => Promise<string>;
  /** Observes the engine's own time per evaluation (seconds). */
  readonly onEvaluation?: (seconds: number) => void;
  /** Decide everything with the local engine (shadow evaluation: no remote calls, no side effects). */
  readonly localOnly?: boolean;
}

type Decided = Omit<Decision, 'id' | 'policyVersion'> & { readonly policyVersion?: string };
type Authorized = { readonly evaluation: Evaluation; readonly source: DecisionSource; readonly remote: RemoteOutcome | undefined; readonly policyVersion?: string };

const NONE = {
  routeId: undefined,
  risk: undefined,
  principal: undefined,
  action: undefined,
  resource: undefined,
  tenant: undefined,
  issuer: undefined,
  request: undefined,
  detail: undefined,
  input: undefined,
  stepUp: undefined,
  rateLimit: undefined,
  remote: undefined,
  assertion: undefined,
  policies: [] as readonly string[],
  tokenPresented: false,
} as const;

/**
 * One Check call: extract -> normalise path -> authenticate -> route -> rate-limit -> authorize (locally,
 * from the cache, or remotely by risk class) -> step-up -> assert. Each stage either hands on to the next
 * or ends the call with a reason. The pipeline never throws: an unexpected failure becomes an
 * `internal_error` outcome, which the server answers with a gRPC error.
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
      const decision: Decision = { ...decided, id, policyVersion: decided.policyVersion ?? set.model.version };
      if (decision.allowed && this.#deps.assert !== undefined) return { kind: 'decision', decision: { ...decision, assertion: await this.#deps.assert(decision) } };
      return { kind: 'decision', decision };
    } catch (err) {
      return failure(id, 'internal_error', set.model.version, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    } finally {
      this.#deps.store.release(set);
    }
  }

  async #decide(message: CheckRequestMessage, set: PreparedPolicySet): Promise<Decided | { error: ErrorReason; detail: string }> {
    const extracted = extractRequest(message, this.#deps.now(), this.#deps.config.limits);
    if (!extracted.ok) return deny('request', extracted.reason, { detail: extracted.detail });
    const facts = extracted.facts;
    if (facts.http === undefined) return this.#decideNetwork(facts, set);
    const httpFacts = facts as RequestFacts & { http: HttpFacts };
    const http = facts.http;
    const request = { method: http.method, path: http.rawPath, host: http.host, id: http.requestId };

    const path = normalizePath(http.rawPath, this.#deps.config.limits.maxPathBytes);
    if (!path.ok) return deny('request', 'path_invalid', { request, detail: path.detail });
    request.path = path.value.path;
    const model = set.model;
    const peerTrusted = this.#deps.peerTrusted?.(facts.source) ?? false;

    // Authenticate: a bearer token, or, without one, a workload on a route that accepts workloads.
    const tokens = this.#deps.config.tokens;
    const bearer = extractBearer(http.header(tokens.header), tokens);
    let subject: Subject;
    let match: RouteMatch | undefined;
    let issuer: string | undefined;
    if ('reason' in bearer) {
      const workload = bearer.reason === 'token_missing' ? workloadIdentity(facts, peerTrusted) : undefined;
      match = workload !== undefined ? model.routes.match(http.method, path.value.segments) : undefined;
      if (workload === undefined || match === undefined || !match.route.allowWorkloads) {
        return deny('authentication', bearer.reason, { request, tokenPresented: bearer.reason !== 'token_missing' });
      }
      subject = { kind: 'workload', id: workload };
    } else {
      const pending = this.#deps.verifier.verify(bearer.token);
      // A cache hit answers synchronously; awaiting it anyway would cost a turn of the microtask queue.
      const verified = pending instanceof Promise ? await pending : pending;
      if (!verified.ok) {
        if (verified.reason === 'jwks_unavailable') return { error: 'jwks_unavailable', detail: verified.detail };
        return deny('authentication', verified.reason, { request, tokenPresented: true });
      }
      issuer = verified.token.issuer.issuer;
      if (this.#deps.revocations?.isRevoked(verified.token.claims, Math.floor(this.#deps.now() / 1000))) {
        return deny('authentication', 'token_revoked', { request, tokenPresented: true, issuer });
      }
      subject = { kind: 'user', token: verified.token };
      match = model.routes.match(http.method, path.value.segments);
      if (match === undefined) return deny('routing', 'route_not_found', { request, tokenPresented: true, issuer });
    }
    const tokenPresented = subject.kind === 'user';
    const built = buildHttpCall(model, httpFacts, path.value, match, subject, this.#extras(model, facts, subject, peerTrusted));
    if (built === undefined) {
      return deny('authentication', 'token_claims_invalid', { request, tokenPresented, issuer, routeId: match.route.id, detail: 'principal id claim missing' });
    }
    const { call, tenant } = built;
    const facet = {
      routeId: match.route.id,
      risk: match.route.risk,
      principal: call.principal,
      action: call.action.id,
      resource: call.resource,
      tenant: tenant ?? tenantOf(call.resource, model),
      issuer,
      tokenPresented,
      request,
      input: call,
    };

    const riskClass = model.mapping.riskClasses[match.route.risk];
    const limited = this.#rateLimit(match.route.risk, riskClass, call.principal, facet.tenant);
    if (limited !== undefined) return deny('rate-limit', 'rate_limited', { ...facet, rateLimit: limited });

    const { evaluation, source, remote, policyVersion } = await this.#authorize(set, call, riskClass);
    const stepUp = stepUpFor(evaluation, model);
    return {
      ...NONE,
      ...facet,
      allowed: evaluation.allowed,
      reason: stepUp !== undefined ? 'step_up_required' : evaluation.reason,
      source,
      policies: evaluation.policies,
      detail: evaluation.detail,
      stepUp,
      remote,
      ...(policyVersion !== undefined ? { policyVersion } : {}),
    };
  }

  async #decideNetwork(facts: RequestFacts, set: PreparedPolicySet): Promise<Decided> {
    const call = buildNetworkCall(set.model, facts);
    if (call === undefined) return deny('request', 'peer_unauthenticated', {});
    const { evaluation, source, remote, policyVersion } = await this.#authorize(set, call, set.model.mapping.riskClasses.medium);
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
      input: call,
      remote,
      ...(policyVersion !== undefined ? { policyVersion } : {}),
    };
  }

  /** Peer and risk facts go into the context only when some policy reads them (and so the schema declares them). */
  #extras(model: PolicyModel, facts: RequestFacts, subject: Subject, peerTrusted: boolean): CallExtras {
    const reads = model.contextReads;
    const reads_ = (root: string) => reads === 'all' || reads.some((r) => r.path[0] === root);
    const peer = reads_('peer') ? workloadIdentity(facts, peerTrusted) : undefined;
    let risk: CallExtras['risk'];
    if (reads_('risk')) {
      const key = subject.kind === 'user' ? `u:${subject.token.issuer.issuer}:${subject.token.claims.sub}` : `w:${subject.id}`;
      const recent = this.#deps.requestRate?.hit(key, this.#deps.now()) ?? 0;
      risk = riskSignals(facts, this.#deps.config.riskSignals, peerTrusted, recent);
    }
    return { peer, risk };
  }

  #rateLimit(riskName: string, riskClass: RiskClassSettings, principal: { type: string; id: string }, tenant: string | undefined): RateLimitState | undefined {
    const limiter = this.#deps.rateLimiter;
    const { perPrincipal, perTenant } = riskClass.rateLimit;
    if (limiter === undefined || (perPrincipal === undefined && perTenant === undefined)) return undefined;
    const now = this.#deps.now();
    if (perPrincipal !== undefined) {
      const wait = limiter.take(`principal:${riskName}:${principal.type}:${principal.id}`, perPrincipal, now);
      if (wait > 0) return { scope: 'principal', burst: perPrincipal.burst, windowSeconds: Math.max(1, Math.ceil(perPrincipal.burst / perPrincipal.rps)), retryAfterSeconds: wait };
    }
    if (perTenant !== undefined && tenant !== undefined) {
      const wait = limiter.take(`tenant:${riskName}:${tenant}`, perTenant, now);
      if (wait > 0) return { scope: 'tenant', burst: perTenant.burst, windowSeconds: Math.max(1, Math.ceil(perTenant.burst / perTenant.rps)), retryAfterSeconds: wait };
    }
    return undefined;
  }

  /**
   * The decision itself, by risk class: a class that requires it (or a resource the local store does not
   * know) is asked of the remote tier within the class's budget; if that fails, a closed class denies and
   * an open one falls back to the local engine. Everything else is decided locally, from the cache when
   * the class allows reuse.
   */
  async #authorize(set: PreparedPolicySet, call: CedarCall, riskClass: RiskClassSettings): Promise<Authorized> {
    const remote = this.#deps.remote;
    if (this.#deps.localOnly === true) return this.#local(set, call, 0);
    const required = riskClass.remote;
    const unknownResource = remote !== undefined && this.#deps.config.remote.askWhenResourceUnknown && set.model.entities.get(call.resource) === undefined;
    if (!required && !unknownResource) return this.#local(set, call, riskClass.cacheTtlSeconds);

    const key = decisionKey(set.model.version, this.#deps.epoch?.() ?? 0, call, set.model.contextReads);
    const cache = this.#deps.decisionCache;
    const now = this.#deps.now();
    const cached = riskClass.cacheTtlSeconds > 0 ? cache?.get(key, now) : undefined;
    if (cached !== undefined) return { evaluation: cached, source: 'cache', remote: undefined };
    const answer = remote !== undefined ? await remote.decide(call, riskClass.budgetMs, key) : ({ ok: false, result: 'error', ms: 0 } as const);
    if (answer.ok) {
      if (riskClass.cacheTtlSeconds > 0) cache?.set(key, answer.evaluation, riskClass.cacheTtlSeconds * 1000, now);
      return { evaluation: answer.evaluation, source: 'remote', remote: { result: 'ok', failureMode: undefined, ms: answer.ms }, policyVersion: answer.policyVersion };
    }
    if (required && riskClass.failureMode === 'closed') {
      return {
        evaluation: { allowed: false, reason: 'remote_unavailable', policies: [], detail: `remote decision ${answer.result} after ${answer.ms} ms` },
        source: 'remote',
        remote: { result: answer.result, failureMode: 'closed', ms: answer.ms },
      };
    }
    const local = this.#local(set, call, riskClass.cacheTtlSeconds);
    return { ...local, remote: { result: answer.result, failureMode: required ? 'open' : undefined, ms: answer.ms } };
  }

  #local(set: PreparedPolicySet, call: CedarCall, ttlSeconds: number): Authorized {
    const cache = this.#deps.decisionCache;
    if (cache === undefined || ttlSeconds === 0) {
      return { evaluation: evaluationFromAnswer(this.#evaluate(set, call), this.#deps.config.policies.onError), source: 'engine', remote: undefined };
    }
    const key = decisionKey(set.model.version, this.#deps.epoch?.() ?? 0, call, set.model.contextReads);
    const now = this.#deps.now();
    const cached = cache.get(key, now);
    if (cached !== undefined) return { evaluation: cached, source: 'cache', remote: undefined };
    const evaluation = evaluationFromAnswer(this.#evaluate(set, call), this.#deps.config.policies.onError);
    cache.set(key, evaluation, ttlSeconds * 1000, now);
    return { evaluation, source: 'engine', remote: undefined };
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

function tenantOf(resource: { type: string; id: string }, model: PolicyModel): string | undefined {
  const tenant = model.entities.get(resource)?.attrs.tenant;
  return typeof tenant === 'string' ? tenant : undefined;
}
