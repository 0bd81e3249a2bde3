import type { EntityUid } from './cedar-call.js';
import type { CedarCall } from './cedar-call.js';
import type { DenyReason, ErrorReason, Reason } from './reasons.js';
import type { RiskClass } from './risk-class.js';

/**
 * Which stage of the pipeline ended the request. `fallback`: the local engine decided because the remote
 * tier could not, on a class that fails open (or for a resource unknown locally); never cached.
 */
export type DecisionSource =
  'request' | 'authentication' | 'routing' | 'rate-limit' | 'engine' | 'cache' | 'remote' | 'fallback';

/** What a 429 tells the client (draft-ietf-httpapi-ratelimit-headers). */
export interface RateLimitState {
  /** Which limit: "principal" or "tenant". */
  readonly scope: 'principal' | 'tenant';
  readonly burst: number;
  readonly windowSeconds: number;
  readonly retryAfterSeconds: number;
}

/** How the remote tier took part in a decision. */
export interface RemoteOutcome {
  /** ok: the control plane decided; otherwise why not, and the class's failure mode applied. */
  readonly result: 'ok' | 'timeout' | 'error' | 'circuit_open' | 'overloaded';
  readonly failureMode: 'open' | 'closed' | undefined;
  readonly ms: number;
}

/** Everything known about a decided request: what the response, the audit event and the metrics use. */
export interface Decision {
  readonly id: string;
  readonly allowed: boolean;
  readonly reason: Extract<Reason, 'policy_allowed'> | DenyReason;
  readonly source: DecisionSource;
  /** Determining policies (allow: the permits; policy_denied: the forbids; policy_error: those that errored). */
  readonly policies: readonly string[];
  /** Policies whose evaluation failed (Cedar skipped them), whatever the decision. */
  readonly errors: readonly string[];
  readonly policyVersion: string;
  readonly routeId: string | undefined;
  /** The route's risk class. */
  readonly risk: RiskClass | undefined;
  readonly principal: EntityUid | undefined;
  readonly action: string | undefined;
  readonly resource: EntityUid | undefined;
  readonly tenant: string | undefined;
  readonly issuer: string | undefined;
  /** A token was presented (decides RFC 6750's error="invalid_token" on a 401). */
  readonly tokenPresented: boolean;
  readonly request:
    | { readonly method: string; readonly path: string; readonly host: string; readonly id: string | undefined }
    | undefined;
  /** Internal detail for the diagnostic log. Never sent to the client. */
  readonly detail: string | undefined;
  /** The Cedar request the engine (or cache) decided, when one was built: what a replay re-evaluates. */
  readonly input: CedarCall | undefined;
  /** step_up_required: the login that would lift the determining forbid. */
  readonly stepUp: StepUp | undefined;
  /** rate_limited: the limit that was hit. */
  readonly rateLimit: RateLimitState | undefined;
  /** Set when the remote tier was asked (or should have been). */
  readonly remote: RemoteOutcome | undefined;
  /** allow with assertions on: the signed decision assertion for the upstream. */
  readonly assertion: string | undefined;
}

export interface CheckFailure {
  readonly id: string;
  readonly reason: ErrorReason;
  readonly policyVersion: string | undefined;
  readonly detail: string;
}

export type CheckOutcome =
  | { readonly kind: 'decision'; readonly decision: Decision }
  | { readonly kind: 'error'; readonly failure: CheckFailure };

export interface StepUp {
  readonly acrValues: string;
  readonly maxAge: number | undefined;
}
