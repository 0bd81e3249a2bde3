import { status as GrpcStatus } from '@grpc/grpc-js';

import type { HttpAnswer } from '../check/http-answer.js';
import type { ProtoStruct, ProtoValue } from '../contract/check-request.js';
import type { Decision } from '../contract/decision.js';

// HeaderValueOption.append_action is always explicit: Envoy versions disagree on what an unset `append`
// means, and overwriting keeps a client from smuggling its own x-authz-* headers upstream.
const OVERWRITE_IF_EXISTS_OR_ADD = 'OVERWRITE_IF_EXISTS_OR_ADD';

const GRPC_CODE_FOR_STATUS: Readonly<Record<number, number>> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  429: GrpcStatus.RESOURCE_EXHAUSTED,
  503: GrpcStatus.UNAVAILABLE,
};

/** The ext_authz v3 CheckResponse for an answer, in the shape proto-loader encodes (keepCase). */
export function toCheckResponse(decision: Decision, answer: HttpAnswer): Record<string, unknown> {
  const headers = answer.headers.map(([key, value]) => ({
    header: { key, value },
    append_action: OVERWRITE_IF_EXISTS_OR_ADD,
  }));
  const metadata = dynamicMetadata(decision);
  if (answer.allowed) {
    return {
      status: { code: GrpcStatus.OK },
      ok_response: { headers, headers_to_remove: answer.headersToRemove },
      dynamic_metadata: metadata,
    };
  }
  return {
    status: { code: GRPC_CODE_FOR_STATUS[answer.status] ?? GrpcStatus.PERMISSION_DENIED },
    denied_response: { status: { code: answer.status }, headers, body: answer.body ?? '' },
    dynamic_metadata: metadata,
  };
}

/** Envoy puts this under the ext_authz filter's namespace, for access logs and later filters. */
function dynamicMetadata(decision: Decision): ProtoStruct {
  const fields: Record<string, ProtoValue> = {
    decision_id: str(decision.id),
    decision: str(decision.allowed ? 'allow' : 'deny'),
    reason: str(decision.reason),
    policy_version: str(decision.policyVersion),
  };
  if (decision.principal !== undefined)
    fields.principal = str(`${decision.principal.type}::${JSON.stringify(decision.principal.id)}`);
  if (decision.routeId !== undefined) fields.route = str(decision.routeId);
  if (decision.policies.length > 0) fields.policies = str(decision.policies.join(','));
  return { fields };
}

const str = (stringValue: string): ProtoValue => ({ stringValue });
