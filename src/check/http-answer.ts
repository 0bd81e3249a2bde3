import type { Config } from '../config/config-schema.js';
import type { Decision } from './decision.js';
import { REASONS } from './reasons.js';

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

const ERROR_NAMES: Readonly<Record<number, string>> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden' };

export function httpAnswer(decision: Decision, config: Config): HttpAnswer {
  if (decision.allowed) {
    return {
      allowed: true,
      status: 200,
      headers: [
        ['x-authz-decision-id', decision.id],
        ['x-authz-policy-version', decision.policyVersion],
      ],
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
  if (status === 401) {
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    headers.push(['www-authenticate', decision.tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer']);
  }
  const body: Record<string, unknown> = { error: ERROR_NAMES[status] ?? 'denied', reason: decision.reason, decision_id: decision.id };
  if (config.responses.exposePolicyIds && decision.reason === 'policy_denied') body.policies = decision.policies;
  return { allowed: false, status, headers, headersToRemove: [], body: JSON.stringify(body) };
}
