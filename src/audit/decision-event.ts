import { type AuthorizeRequest, parseAuthorizeRequest } from '../decide/authorize-codec.js';

/**
 * `input` of a decision event: the Cedar request as the engine evaluated it, without the entity slice. It
 * has the shape of a POST /v1/authorize body, and is validated and re-evaluated the same way.
 */
export type DecisionEventInput = AuthorizeRequest;

/** The fields of an audit event (docs/audit.md) that the control plane and `authzd replay` rely on. */
export interface DecisionEvent {
  readonly time: string;
  readonly decision_id: string;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: string;
  readonly policies: readonly string[];
  readonly source: string | undefined;
  readonly route: string | undefined;
  readonly policy_version: string | undefined;
  /** The identifiers (and with them `input`) are salted hashes: a replay can only be approximate. */
  readonly hashed: boolean;
  readonly input: DecisionEventInput | undefined;
}

export type ParsedDecisionEvent =
  | { readonly ok: true; readonly event: DecisionEvent }
  /** `decision: false`: the value is not a decision event at all (another log's line), rather than a broken one. */
  | { readonly ok: false; readonly decision: boolean; readonly detail: string };

export const DECISION_EVENT_TYPE = 'authz.decision';
const DECISIONS = new Set(['allow', 'deny', 'error']);
const REASON = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_ID = 256;
const MAX_POLICIES = 1_000;

/**
 * Checks a parsed JSON value as a decision event. Only the fields listed in DecisionEvent are checked (their
 * types, and `input` as strictly as a /v1/authorize body); other fields are allowed, so events from a newer
 * sidecar with more fields still pass. Every refusal names the field.
 */
export function parseDecisionEvent(value: unknown): ParsedDecisionEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, decision: false, detail: 'not a JSON object' };
  const e = value as Record<string, unknown>;
  if (e.type !== DECISION_EVENT_TYPE)
    return { ok: false, decision: false, detail: `type: expected "${DECISION_EVENT_TYPE}"` };
  const bad = (detail: string): ParsedDecisionEvent => ({ ok: false, decision: true, detail });
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time)))
    return bad('time: expected an ISO 8601 timestamp');
  if (!isId(e.decision_id)) return bad(`decision_id: expected a string of 1 to ${MAX_ID} printable characters`);
  if (typeof e.decision !== 'string' || !DECISIONS.has(e.decision))
    return bad('decision: expected "allow", "deny" or "error"');
  if (typeof e.reason !== 'string' || !REASON.test(e.reason))
    return bad('reason: expected a reason code (lowercase letters, digits, "_")');
  const policies = e.policies ?? [];
  if (!Array.isArray(policies) || policies.length > MAX_POLICIES || !policies.every(isId)) {
    return bad(`policies: expected an array of at most ${MAX_POLICIES} policy ids`);
  }
  for (const field of ['source', 'route', 'policy_version'] as const) {
    if (e[field] !== undefined && !isId(e[field]))
      return bad(`${field}: expected a string of 1 to ${MAX_ID} printable characters`);
  }
  if (e.hashed !== undefined && typeof e.hashed !== 'boolean') return bad('hashed: expected a boolean');
  let input: DecisionEventInput | undefined;
  if (e.input !== undefined) {
    const parsed = parseAuthorizeRequest(e.input);
    if (!parsed.ok) {
      // parseAuthorizeRequest names fields from the body's top ("body: ...", "body.x: ...", "principal.uid: ...").
      const d = parsed.detail;
      return bad(
        d.startsWith('body: ') ? `input: ${d.slice(6)}` : d.startsWith('body.') ? `input.${d.slice(5)}` : `input.${d}`,
      );
    }
    input = parsed.value;
  }
  return {
    ok: true,
    event: {
      time: e.time,
      decision_id: e.decision_id,
      decision: e.decision as DecisionEvent['decision'],
      reason: e.reason,
      policies: policies,
      source: e.source as string | undefined,
      route: e.route as string | undefined,
      policy_version: e.policy_version as string | undefined,
      hashed: e.hashed === true,
      input,
    },
  };
}

// Printable: no control characters, which would let an event forge lines in a text report.
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID && PRINTABLE.test(value);
}
