import type { CheckRequestMessage, PeerMessage, ProtoStruct } from '../contract/check-request.js';
import type { PolicyTestCase } from './policy-test-schema.js';

/** :authority of a test request unless the case sets `context.host`. */
export const DEFAULT_TEST_HOST = 'policy-test.invalid';

/** The Envoy metadata namespace the runner's riskSignals.metadataNamespace names: where `context.risk` goes. */
export const TEST_RISK_NAMESPACE = 'authzd.policy_test';

type Context = NonNullable<PolicyTestCase['context']>;

/**
 * The CheckRequest Envoy would send for a case: its HTTP ext_authz filter's for method + path (with the
 * token, if any, in the Authorization header), its network filter's (peers only, no HTTP attributes) for a
 * case without a request. `peer` becomes the peers' mTLS identities either way.
 */
export function buildTestRequest(c: PolicyTestCase, token: string | undefined): CheckRequestMessage {
  const context = c.context ?? {};
  const source = peer(context.sourceIp, undefined, c.peer?.source);
  const destination = peer(context.destinationIp, context.destinationPort, c.peer?.destination);
  const time = requestTime(context);
  const attributes: NonNullable<CheckRequestMessage['attributes']> = {
    source,
    destination,
    context_extensions: { ...context.extensions },
    metadata_context: { filter_metadata: caseMetadata(context) },
  };
  if (c.method === undefined || c.path === undefined) {
    if (time !== undefined) attributes.request = { time };
    return { attributes };
  }
  const { method, path } = c;
  const host = context.host ?? DEFAULT_TEST_HOST;
  const headers: Record<string, string> = { ':authority': host, ':method': method, ':path': path, ':scheme': 'https' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  attributes.request = {
    ...(time !== undefined ? { time } : {}),
    http: { method, path, host, scheme: 'https', headers, protocol: 'HTTP/2' },
  };
  return { attributes };
}

/** Epoch milliseconds of `context.time`, if the case sets it. */
export function caseTimeMs(context: Context): number | undefined {
  if (context.time === undefined) return undefined;
  return typeof context.time === 'number' ? context.time * 1000 : Date.parse(context.time);
}

/** Envoy filter metadata carrying the case's risk signals, as an upstream filter would set them. */
export function caseMetadata(context: Context): Record<string, ProtoStruct> {
  if (context.risk === undefined) return {};
  const fields: NonNullable<ProtoStruct['fields']> = {};
  if (context.risk.score !== undefined) fields.score = { numberValue: context.risk.score };
  if (context.risk.deviceTrust !== undefined) fields.deviceTrust = { stringValue: context.risk.deviceTrust };
  return { [TEST_RISK_NAMESPACE]: { fields } };
}

function requestTime(context: Context): { seconds: string; nanos: number } | undefined {
  const ms = caseTimeMs(context);
  if (ms === undefined) return undefined;
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function peer(ip: string | undefined, port: number | undefined, principal: string | undefined): PeerMessage {
  const out: PeerMessage = {};
  if (ip !== undefined)
    out.address = { socket_address: { address: ip, ...(port !== undefined ? { port_value: port } : {}) } };
  if (principal !== undefined) out.principal = principal;
  return out;
}
