import type { Config } from '../config/config-schema.js';
import { type CallContext, DeadlineExceededError, withinDeadline } from '../contract/call-context.js';
import type { CallTrace } from '../contract/call-trace.js';
import type { CheckRequestMessage } from '../contract/check-request.js';
import type { CheckOutcome, Decision, DecisionSource } from '../contract/decision.js';
import type { DenyReason, ErrorReason } from '../contract/reasons.js';
import { stepUpFor } from '../decide/step-up.js';
import type { DecisionEngine, PreparedSet } from '../engine/decision-engine.js';
import type { PolicyStore } from '../engine/policy-store.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import type { RouteMatch } from '../policy/route-table.js';
import type { TokenVerifier, VerifiedToken } from '../token/token-verifier.js';
import { type AuthenticatorChain, firstAuthenticator, type Subject, workloadAuthenticator } from './authenticator.js';
import { buildHttpCall, buildNetworkCall, type CallExtras } from './build-cedar-call.js';
import { TierDecider } from './decide-by-tier.js';
import type { DecisionCache } from './decision-cache.js';
import { extractRequest, type HttpFacts, type RequestFacts } from './extract-request.js';
import { jwtAuthenticator } from './jwt-authenticator.js';
import { limitRate } from './limit-rate.js';
import { normalizePath } from './normalize-path.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RemoteDecider } from './remote-decider.js';
import type { RequestRate } from './request-rate.js';
import { riskSignals } from './risk-signals.js';
import { workloadIdentity } from './workload-identity.js';

export interface PipelineDeps {
  readonly config: Config;
  readonly store: PolicyStore;
  readonly engine: DecisionEngine;
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

/** When the call started and by when it must be answered; both default from the pipeline's clock and config. */
export interface CheckOptions {
  readonly nowMs?: number;
  readonly deadlineMs?: number;
  /** The call's trace (tracing on): its slow stages become child spans. */
  readonly trace?: CallTrace | undefined;
}

type Decided = Omit<Decision, 'id' | 'policyVersion'> & { readonly policyVersion?: string };
type Stop = { readonly error: ErrorReason; readonly detail: string };

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
  errors: [] as readonly string[],
  tokenPresented: false,
} as const;

/**
 * One Check call, as named stages: extract -> normalise the path -> authenticate -> route -> limit ->
 * decide by risk tier (locally, from the cache, or remotely) -> step-up -> assert. Each stage hands on to
 * the next or ends the call with a reason. The pipeline never throws: an unexpected failure becomes an
 * `internal_error` outcome and a passed deadline a `deadline_exceeded` one, which the server answers with a
 * gRPC error.
 */
export class CheckPipeline {
  readonly #deps: PipelineDeps;
  readonly #authenticator: AuthenticatorChain;
  readonly #tiers: TierDecider;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    const { tokens } = deps.config;
    this.#authenticator = firstAuthenticator([
      jwtAuthenticator({
        header: tokens.header,
        scheme: tokens.scheme,
        maxBytes: tokens.maxBytes,
        verifier: deps.verifier,
        ...(deps.revocations !== undefined ? { revocations: deps.revocations } : {}),
      }),
      workloadAuthenticator(workloadIdentity),
    ]);
    this.#tiers = new TierDecider({
      engine: deps.engine,
      onError: deps.config.policies.onError,
      askWhenResourceUnknown: deps.config.remote.askWhenResourceUnknown,
      ...(deps.decisionCache !== undefined ? { decisionCache: deps.decisionCache } : {}),
      ...(deps.epoch !== undefined ? { epoch: deps.epoch } : {}),
      ...(deps.remote !== undefined ? { remote: deps.remote } : {}),
      ...(deps.onEvaluation !== undefined ? { onEvaluation: deps.onEvaluation } : {}),
      ...(deps.localOnly !== undefined ? { localOnly: deps.localOnly } : {}),
    });
  }

  async check(message: CheckRequestMessage, options: CheckOptions = {}): Promise<CheckOutcome> {
    const nowMs = options.nowMs ?? this.#deps.now();
    const ctx: CallContext = {
      nowMs,
      deadlineMs: options.deadlineMs ?? nowMs + this.#deps.config.checks.defaultDeadlineMs,
      trace: options.trace,
    };
    const id = this.#deps.newId();
    const set = this.#deps.store.acquire();
    if (set === undefined) return failure(id, 'policy_unavailable', undefined, 'no policy set is active');
    try {
      const decided = await this.#decide(message, set, ctx);
      if ('error' in decided) return failure(id, decided.error, set.model.version, decided.detail);
      const decision: Decision = { ...decided, id, policyVersion: decided.policyVersion ?? set.model.version };
      if (decision.allowed && this.#deps.assert !== undefined) {
        const span = ctx.trace?.stage('authzd.assert');
        try {
          return {
            kind: 'decision',
            decision: {
              ...decision,
              assertion: await withinDeadline(this.#deps.assert(decision), ctx, 'signing the assertion'),
            },
          };
        } finally {
          span?.end();
        }
      }
      return { kind: 'decision', decision };
    } catch (err) {
      if (err instanceof DeadlineExceededError) return failure(id, 'deadline_exceeded', set.model.version, err.message);
      return failure(
        id,
        'internal_error',
        set.model.version,
        err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      );
    } finally {
      this.#deps.store.release(set);
    }
  }

  async #decide(message: CheckRequestMessage, set: PreparedSet, ctx: CallContext): Promise<Decided | Stop> {
    // Extract: the request's facts, within the configured limits.
    const extracted = extractRequest(message, ctx.nowMs, this.#deps.config.limits);
    if (!extracted.ok) return deny('request', extracted.reason, { detail: extracted.detail });
    const facts = extracted.facts;
    if (facts.http === undefined) return this.#decideNetwork(facts, set, ctx);
    const httpFacts = facts as RequestFacts & { http: HttpFacts };
    const http = facts.http;
    const request = { method: http.method, path: http.rawPath, host: http.host, id: http.requestId };

    // Normalise the path, refusing anything two servers could read differently.
    const path = normalizePath(http.rawPath, {
      maxLength: this.#deps.config.limits.maxPathBytes,
      allowSemicolons: this.#deps.config.paths.allowSemicolons,
    });
    if (!path.ok) return deny('request', 'path_invalid', { request, detail: path.detail });
    request.path = path.value.path;
    const model = set.model;
    const peerTrusted = this.#deps.peerTrusted?.(facts.source) ?? false;

    // Authenticate: a bearer token, or, without one, a workload (on routes that accept workloads).
    const pending = this.#authenticator.authenticate(httpFacts, ctx, peerTrusted);
    // A cached token answers synchronously; awaiting it anyway would cost a turn of the microtask queue.
    const auth = pending instanceof Promise ? await traced(pending, ctx, 'authzd.authenticate') : pending;
    if (!auth.ok) {
      if ('error' in auth) return { error: auth.error, detail: auth.detail };
      return deny('authentication', auth.reason, { request, tokenPresented: auth.tokenPresented, issuer: auth.issuer });
    }
    const subject: Subject = auth.subject;
    const { issuer } = auth;
    const tokenPresented = subject.kind === 'user';

    // Route.
    const match: RouteMatch | undefined = model.routes.match(http.method, path.value.segments);
    if (subject.kind === 'workload' && (match === undefined || !match.route.allowWorkloads)) {
      // A workload is only a subject on routes that accept one; anywhere else the request lacks a token.
      return deny('authentication', 'token_missing', { request, tokenPresented: false });
    }
    if (match === undefined) return deny('routing', 'route_not_found', { request, tokenPresented, issuer });

    const built = buildHttpCall(
      model,
      httpFacts,
      path.value,
      match,
      subject,
      this.#extras(model, facts, subject, peerTrusted, ctx),
    );
    if (built === undefined) {
      return deny('authentication', 'token_claims_invalid', {
        request,
        tokenPresented,
        issuer,
        routeId: match.route.id,
        detail: 'principal id claim missing',
      });
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

    // Limit.
    const riskClass = model.mapping.riskClasses[match.route.risk];
    const limiter = this.#deps.rateLimiter;
    const limited =
      limiter === undefined
        ? undefined
        : limitRate(limiter, match.route.risk, riskClass, call.principal, facet.tenant, ctx.nowMs);
    if (limited !== undefined) return deny('rate-limit', 'rate_limited', { ...facet, rateLimit: limited });

    // Decide by risk tier, then step-up.
    const { evaluation, source, remote, policyVersion } = await this.#tiers.decide(set, call, riskClass, ctx);
    const stepUp = stepUpFor(evaluation, model);
    return {
      ...NONE,
      ...facet,
      allowed: evaluation.allowed,
      reason: stepUp !== undefined ? 'step_up_required' : evaluation.reason,
      source,
      policies: evaluation.policies,
      errors: evaluation.errors,
      detail: evaluation.detail,
      stepUp,
      remote,
      ...(policyVersion !== undefined ? { policyVersion } : {}),
    };
  }

  async #decideNetwork(facts: RequestFacts, set: PreparedSet, ctx: CallContext): Promise<Decided> {
    const call = buildNetworkCall(set.model, facts);
    if (call === undefined) return deny('request', 'peer_unauthenticated', {});
    const { evaluation, source, remote, policyVersion } = await this.#tiers.decide(
      set,
      call,
      set.model.mapping.riskClasses.medium,
      ctx,
    );
    return {
      ...NONE,
      allowed: evaluation.allowed,
      reason: evaluation.reason,
      source,
      policies: evaluation.policies,
      errors: evaluation.errors,
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
  #extras(
    model: PolicyModel,
    facts: RequestFacts,
    subject: Subject,
    peerTrusted: boolean,
    ctx: CallContext,
  ): CallExtras {
    const reads = model.contextReads;
    const reads_ = (root: string) => reads === 'all' || reads.some((r) => r.path[0] === root);
    const peer = reads_('peer') ? workloadIdentity(facts, peerTrusted) : undefined;
    let risk: CallExtras['risk'];
    if (reads_('risk')) {
      const key =
        subject.kind === 'user' ? `u:${subject.token.issuer.issuer}:${subject.token.claims.sub}` : `w:${subject.id}`;
      const recent = this.#deps.requestRate?.hit(key, ctx.nowMs) ?? 0;
      risk = riskSignals(facts, this.#deps.config.riskSignals, peerTrusted, recent);
    }
    return { peer, risk };
  }
}

function deny(
  source: DecisionSource,
  reason: DenyReason,
  fields: Partial<Omit<Decision, 'allowed' | 'reason' | 'source'>>,
): Decided {
  return { ...NONE, ...fields, allowed: false, reason, source };
}

function failure(id: string, reason: ErrorReason, policyVersion: string | undefined, detail: string): CheckOutcome {
  return { kind: 'error', failure: { id, reason, policyVersion, detail } };
}

function tenantOf(resource: { type: string; id: string }, model: PolicyModel): string | undefined {
  const tenant = model.entities.get(resource)?.attrs.tenant;
  return typeof tenant === 'string' ? tenant : undefined;
}

/** `pending`, as a span of the call's trace when it has one (and exactly `pending` when it has none). */
function traced<T>(pending: Promise<T>, ctx: CallContext, stage: 'authzd.authenticate'): Promise<T> {
  const span = ctx.trace?.stage(stage);
  return span === undefined ? pending : pending.finally(() => span.end());
}
