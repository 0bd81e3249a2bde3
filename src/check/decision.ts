import type { EntityUid } from '../policy/entity-store.js';
import type { DenyReason, ErrorReason, Reason } from './reasons.js';

/** Which stage of the pipeline ended the request. Later stages (cache, remote) add their own names. */
export type DecisionSource = 'request' | 'authentication' | 'routing' | 'engine' | 'cache';

/** Everything known about a decided request: what the response, the audit event and the metrics use. */
export interface Decision {
  readonly id: string;
  readonly allowed: boolean;
  readonly reason: Extract<Reason, 'policy_allowed'> | DenyReason;
  readonly source: DecisionSource;
  /** Determining policies (allow: the permits; policy_denied: the forbids; policy_error: those that errored). */
  readonly policies: readonly string[];
  readonly policyVersion: string;
  readonly routeId: string | undefined;
  readonly principal: EntityUid | undefined;
  readonly action: string | undefined;
  readonly resource: EntityUid | undefined;
  readonly tenant: string | undefined;
  readonly issuer: string | undefined;
  /** A token was presented (decides RFC 6750's error="invalid_token" on a 401). */
  readonly tokenPresented: boolean;
  readonly request: { readonly method: string; readonly path: string; readonly host: string; readonly id: string | undefined } | undefined;
  /** Internal detail for the diagnostic log. Never sent to the client. */
  readonly detail: string | undefined;
}

export interface CheckFailure {
  readonly id: string;
  readonly reason: ErrorReason;
  readonly policyVersion: string | undefined;
  readonly detail: string;
}

export type CheckOutcome = { readonly kind: 'decision'; readonly decision: Decision } | { readonly kind: 'error'; readonly failure: CheckFailure };
