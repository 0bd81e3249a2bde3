// The closed set of reason codes. The same string is the `reason` of a deny body, the audit event, the
// `reason` label of every metric and a heading in docs/reasons.md (test/unit/docs-sync.test.ts keeps the
// two in step, both ways).

/** How a reason ends a Check call: an HTTP answer Envoy relays, or a gRPC error Envoy's failure mode handles. */
export type Outcome = 'allow' | 'deny' | 'error';

export interface ReasonSpec {
  readonly outcome: Outcome;
  /** HTTP status of the answer (allow: 200). For `error` reasons: the gRPC status code name. */
  readonly status: number | 'UNAVAILABLE' | 'INTERNAL' | 'DEADLINE_EXCEEDED';
  /** One line for humans; the long form lives in docs/reasons.md. */
  readonly summary: string;
}

export const REASONS = {
  policy_allowed: { outcome: 'allow', status: 200, summary: 'A permit policy applied and no forbid did.' },

  token_missing: { outcome: 'deny', status: 401, summary: 'No bearer token in the configured header.' },
  token_malformed: {
    outcome: 'deny',
    status: 401,
    summary: 'The token is not a strict compact JWS or cannot be decoded.',
  },
  token_too_large: { outcome: 'deny', status: 401, summary: 'The token exceeds the configured size cap.' },
  token_issuer_unknown: { outcome: 'deny', status: 401, summary: 'The iss claim names no configured issuer.' },
  token_algorithm_not_allowed: {
    outcome: 'deny',
    status: 401,
    summary: "The alg header is not in the issuer's allow-list.",
  },
  token_key_unknown: {
    outcome: 'deny',
    status: 401,
    summary: "No key in the issuer's key set matches the token's kid/alg.",
  },
  token_signature_invalid: { outcome: 'deny', status: 401, summary: 'The signature does not verify.' },
  token_expired: { outcome: 'deny', status: 401, summary: 'exp is in the past (beyond the clock tolerance).' },
  token_not_yet_valid: { outcome: 'deny', status: 401, summary: 'nbf is in the future (beyond the clock tolerance).' },
  token_issued_in_future: {
    outcome: 'deny',
    status: 401,
    summary: 'iat is in the future (beyond the clock tolerance).',
  },
  token_audience_invalid: { outcome: 'deny', status: 401, summary: "aud names none of the issuer's audiences." },
  token_type_invalid: {
    outcome: 'deny',
    status: 401,
    summary: 'The typ header is not the required type (e.g. at+jwt).',
  },
  token_claims_invalid: {
    outcome: 'deny',
    status: 401,
    summary: 'A required claim (exp, sub) is missing or has the wrong type.',
  },
  step_up_required: {
    outcome: 'deny',
    status: 401,
    summary: 'A forbid that a stronger login would lift applied (RFC 9470 challenge).',
  },
  token_revoked: {
    outcome: 'deny',
    status: 401,
    summary: 'The token, its session or its subject was revoked through the revocation feed.',
  },

  request_invalid: {
    outcome: 'deny',
    status: 400,
    summary: 'The CheckRequest lacks what an HTTP decision needs (method, path).',
  },
  path_invalid: {
    outcome: 'deny',
    status: 400,
    summary: 'The path is ambiguous or malformed (encoded slash, dot segment, bad escape).',
  },
  request_too_large: {
    outcome: 'deny',
    status: 400,
    summary: 'Too many headers, headers too large, or a path too long (config limits).',
  },
  route_not_found: { outcome: 'deny', status: 403, summary: 'No route in routes.yaml matches the method and path.' },
  peer_unauthenticated: {
    outcome: 'deny',
    status: 403,
    summary: 'A request without HTTP attributes came from a peer with no identity.',
  },

  policy_denied: { outcome: 'deny', status: 403, summary: 'A forbid policy applied.' },
  no_matching_permit: { outcome: 'deny', status: 403, summary: 'No permit policy applied (Cedar denies by default).' },
  rate_limited: {
    outcome: 'deny',
    status: 429,
    summary: "The principal or its tenant exceeded the rate limit of the route's risk class.",
  },
  remote_unavailable: {
    outcome: 'deny',
    status: 503,
    summary: 'The remote decision this route requires could not be had in its budget and its class fails closed.',
  },
  policy_error: { outcome: 'deny', status: 403, summary: 'A policy failed to evaluate and policies.onError is deny.' },
  schema_mismatch: {
    outcome: 'deny',
    status: 403,
    summary: 'The Cedar request built for this call does not conform to the schema.',
  },
  resource_unknown: {
    outcome: 'deny',
    status: 403,
    summary: 'The request names a resource the entity store does not hold (of a type it does), and no forbid decided.',
  },
  entity_limit_exceeded: {
    outcome: 'deny',
    status: 403,
    summary: 'More entities are reachable from the request than policies.maxRequestEntities allows.',
  },

  policy_unavailable: { outcome: 'error', status: 'UNAVAILABLE', summary: 'No policy set is active yet.' },
  jwks_unavailable: {
    outcome: 'error',
    status: 'UNAVAILABLE',
    summary: "The issuer's key set could not be fetched and no copy is held.",
  },
  deadline_exceeded: {
    outcome: 'error',
    status: 'DEADLINE_EXCEEDED',
    summary: "The call's deadline passed while authzd waited (key set, remote tier, assertion).",
  },
  internal_error: { outcome: 'error', status: 'INTERNAL', summary: 'An unexpected failure inside authzd.' },
} as const satisfies Record<string, ReasonSpec>;

export type Reason = keyof typeof REASONS;
export type DenyReason = { [K in Reason]: (typeof REASONS)[K]['outcome'] extends 'deny' ? K : never }[Reason];
export type ErrorReason = { [K in Reason]: (typeof REASONS)[K]['outcome'] extends 'error' ? K : never }[Reason];
export type TokenReason = Extract<Reason, `token_${string}`>;

export const REASON_CODES = Object.keys(REASONS) as Reason[];
