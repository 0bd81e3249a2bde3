import type { Config } from '../config/config-schema.js';
import type { Decision } from '../contract/decision.js';
import { REASONS } from '../contract/reasons.js';

/** What the proxy should do with the request, independent of the protocol that carries it. */
export interface HttpAnswer {
  readonly allowed: boolean;
  /** 200 for allow, otherwise the status the client receives. */
  readonly status: number;
  /** Allow: headers to set on the request going upstream. Deny: headers of the response to the client. */
  readonly headers: readonly (readonly [string, string])[];
  /** Allow only: request headers to remove before the upstream sees them. */
  readonly headersToRemove: readonly string[];
  /** Deny only: the JSON body. */
  readonly body: string | undefined;
}

const ERROR_NAMES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  429: 'too_many_requests',
  503: 'unavailable',
};

export function httpAnswer(decision: Decision, config: Config): HttpAnswer {
  if (decision.allowed) {
    const headers: [string, string][] = [
      ['x-authz-decision-id', decision.id],
      ['x-authz-policy-version', decision.policyVersion],
    ];
    if (decision.assertion !== undefined) headers.push([config.assertions.header, decision.assertion]);
    return {
      allowed: true,
      status: 200,
      headers,
      headersToRemove: config.responses.removeAuthorizationHeader ? [config.tokens.header] : [],
      body: undefined,
    };
  }
  const status = REASONS[decision.reason].status as number;
  const headers: [string, string][] = [
    ['content-type', 'application/json'],
    ['cache-control', 'no-store'],
    ['x-authz-decision-id', decision.id],
  ];
  if (decision.reason === 'step_up_required' && decision.stepUp !== undefined) {
    // RFC 9470 §3: the client learns exactly which authentication would be enough.
    const { acrValues, maxAge } = decision.stepUp;
    const params = [
      'error="insufficient_user_authentication"',
      'error_description="A different authentication level is required"',
      `acr_values="${acrValues}"`,
    ];
    if (maxAge !== undefined) params.push(`max_age=${maxAge}`);
    headers.push(['www-authenticate', `Bearer ${params.join(', ')}`]);
  } else if (status === 401) {
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    headers.push(['www-authenticate', decision.tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer']);
  }
  if (decision.rateLimit !== undefined) {
    // draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w) and when to retry (t).
    const { scope, burst, windowSeconds, retryAfterSeconds } = decision.rateLimit;
    headers.push(['retry-after', String(retryAfterSeconds)]);
    headers.push(['ratelimit-policy', `"${scope}";q=${burst};w=${windowSeconds}`]);
    headers.push(['ratelimit', `"${scope}";r=0;t=${retryAfterSeconds}`]);
  }
  const body: Record<string, unknown> = {
    error: ERROR_NAMES[status] ?? 'denied',
    reason: decision.reason,
    decision_id: decision.id,
  };
  if (config.responses.exposePolicyIds && decision.reason === 'policy_denied') body.policies = decision.policies;
  return { allowed: false, status, headers, headersToRemove: [], body: JSON.stringify(body) };
}
