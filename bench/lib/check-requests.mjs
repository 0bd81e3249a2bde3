// CheckRequests encoded with authzd's own protos (proto/, loaded with src/server/load-protos.ts's options),
// shaped like the requests Envoy's HTTP ext_authz filter sends (test/helpers/test-authzd.ts).
import * as protoLoader from '@grpc/proto-loader';
import { EXT_AUTHZ_PROTO, PROTO_DIR, PROTO_LOADER_OPTIONS } from '../../dist/server/load-protos.js';

export { EXT_AUTHZ_PROTO, PROTO_DIR, PROTO_LOADER_OPTIONS };
export const CHECK_METHOD = '/envoy.service.auth.v3.Authorization/Check';
/** ghz's --call spelling of CHECK_METHOD. */
export const CHECK_CALL = 'envoy.service.auth.v3.Authorization/Check';

let loaded;
/** The Check method definition (serializers included) from authzd's protos, with authzd's loader options. */
export function checkMethod() {
  loaded ??= protoLoader.loadSync([EXT_AUTHZ_PROTO], PROTO_LOADER_OPTIONS);
  return loaded['envoy.service.auth.v3.Authorization'].Check;
}

/** Protobuf bytes of a CheckRequest given as a proto-field-named object. */
export function encodeCheckRequest(request) {
  return checkMethod().requestSerialize(request);
}

export function decodeCheckRequest(bytes) {
  return checkMethod().requestDeserialize(bytes);
}

/** allow/deny and the reason code authzd put in the response's dynamic metadata. */
export function decodeDecision(responseBytes) {
  const response = checkMethod().responseDeserialize(responseBytes);
  const fields = response.dynamic_metadata?.fields ?? {};
  const allowed = response.ok_response !== undefined && response.ok_response !== null;
  return { decision: allowed ? 'allow' : 'deny', reason: fields.reason?.stringValue ?? (allowed ? 'ok' : 'unknown') };
}

/** A CheckRequest as Envoy's HTTP ext_authz filter sends it: the same shape as the tests' httpCheckRequest. */
export function httpCheckRequest({
  method = 'GET',
  path: reqPath,
  token,
  host = 'bank.example.com',
  sourceIp = '10.1.2.3',
  requestId = '2f1c5c8e-7d4c-4b8e-9a51-0c7d3a9e6f10',
  nowSeconds = Math.floor(Date.now() / 1000),
}) {
  const headers = {
    ':authority': host,
    ':method': method,
    ':path': reqPath,
    ':scheme': 'https',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'https',
    'x-request-id': requestId,
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return {
    attributes: {
      source: { address: { socket_address: { address: sourceIp, port_value: 53422 } } },
      destination: { address: { socket_address: { address: '10.1.0.7', port_value: 8080 } } },
      request: {
        time: { seconds: String(nowSeconds), nanos: 0 },
        http: {
          id: '11400427465930417316',
          method,
          headers,
          path: reqPath,
          host,
          scheme: 'https',
          protocol: 'HTTP/2',
          size: '0',
        },
      },
      metadata_context: {},
    },
  };
}
