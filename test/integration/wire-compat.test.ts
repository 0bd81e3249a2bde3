// authzd's own proto/ definitions against Envoy's official ones: bytes encoded by one decode to the same
// values with the other, for a CheckRequest carrying every field Envoy can send and a CheckResponse
// carrying every field authzd can answer with.
import path from 'node:path';

import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { PROTO_DIR } from '../../src/server/load-protos.js';
import { loadEnvoyRoot } from '../helpers/envoy-protos.js';

let envoy: protobuf.Root;
let ours: protobuf.Root;
const toObject = { longs: String, enums: String, bytes: String, defaults: false, oneofs: true } as const;

beforeAll(() => {
  envoy = loadEnvoyRoot(['envoy/service/auth/v3/external_auth.proto']);
  ours = new protobuf.Root();
  ours.resolvePath = (_origin, target) => (target.startsWith('google/') ? target : path.join(PROTO_DIR, target));
  ours.loadSync('envoy/service/auth/v3/authzd_ext_authz.proto', { keepCase: true });
  ours.resolveAll();
});

const fullRequest = {
  attributes: {
    source: {
      address: { socket_address: { protocol: 'TCP', address: '10.0.0.5', port_value: 43210 } },
      service: 'frontend',
      labels: { app: 'frontend' },
      principal: 'spiffe://cluster.local/ns/web/sa/frontend',
      certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    },
    destination: {
      address: { socket_address: { address: '10.0.0.9', port_value: 8443 } },
      principal: 'spiffe://cluster.local/ns/bank/sa/core-banking',
    },
    request: {
      time: { seconds: '1764340000', nanos: 123000000 },
      http: {
        id: '17264827363829',
        method: 'POST',
        headers: { ':path': '/accounts/acc-1001/transfers', authorization: 'Bearer a.b.c' },
        header_map: {
          headers: [
            { key: 'authorization', raw_value: Buffer.from('Bearer a.b.c') },
            { key: 'x-a', value: '1' },
          ],
        },
        path: '/accounts/acc-1001/transfers?dry_run=1',
        host: 'bank.example.com',
        scheme: 'https',
        query: '',
        fragment: '',
        size: '42',
        protocol: 'HTTP/2',
        body: '{"amount":10}',
        raw_body: Buffer.from('{"amount":10}'),
      },
    },
    context_extensions: { tier: 'gold' },
    metadata_context: {
      filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' } } } },
    },
    route_metadata_context: { filter_metadata: { authzd: { fields: { risk: { stringValue: 'high' } } } } },
    tls_session: { sni: 'bank.example.com' },
  },
};

describe('CheckRequest: Envoy encodes, authzd decodes', () => {
  it('keeps every field authzd reads, and skips the ones it does not define', () => {
    const EnvoyReq = envoy.lookupType('envoy.service.auth.v3.CheckRequest');
    const OurReq = ours.lookupType('envoy.service.auth.v3.CheckRequest');
    const bytes = EnvoyReq.encode(EnvoyReq.fromObject(fullRequest)).finish();
    const decoded = OurReq.toObject(OurReq.decode(bytes), toObject) as any;
    const want = EnvoyReq.toObject(EnvoyReq.decode(bytes), toObject) as any;
    // Same values under the same names for everything authzd defines.
    expect(decoded.attributes.source).toEqual({
      ...want.attributes.source,
      address: {
        socket_address: { ...want.attributes.source.address.socket_address, protocol: 0 },
        address: 'socket_address',
      },
    });
    expect(decoded.attributes.destination.principal).toBe(want.attributes.destination.principal);
    expect(decoded.attributes.request.time).toEqual(want.attributes.request.time);
    expect(decoded.attributes.request.http).toEqual(want.attributes.request.http);
    expect(decoded.attributes.context_extensions).toEqual(want.attributes.context_extensions);
    expect(decoded.attributes.metadata_context).toEqual(want.attributes.metadata_context);
    expect(decoded.attributes.route_metadata_context).toEqual(want.attributes.route_metadata_context);
    expect(decoded.attributes.tls_session).toBeUndefined();
  });
});

describe('CheckResponse: authzd encodes, Envoy decodes', () => {
  it('denied_response with status, headers (append_action) and body', () => {
    const OurRes = ours.lookupType('envoy.service.auth.v3.CheckResponse');
    const EnvoyRes = envoy.lookupType('envoy.service.auth.v3.CheckResponse');
    const mine = {
      status: { code: 16, message: '' },
      denied_response: {
        status: { code: 401 },
        headers: [
          {
            header: { key: 'www-authenticate', value: 'Bearer error="invalid_token"' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
        body: '{"reason":"token_expired"}',
      },
      dynamic_metadata: { fields: { decision_id: { stringValue: 'd-1' } } },
    };
    const decoded = EnvoyRes.toObject(
      EnvoyRes.decode(OurRes.encode(OurRes.fromObject(mine)).finish()),
      toObject,
    ) as any;
    expect(decoded.status.code).toBe(16);
    expect(decoded.http_response).toBe('denied_response');
    expect(decoded.denied_response.status.code).toBe('Unauthorized');
    expect(decoded.denied_response.headers[0]).toEqual({
      header: { key: 'www-authenticate', value: 'Bearer error="invalid_token"' },
      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
    });
    expect(decoded.denied_response.body).toBe('{"reason":"token_expired"}');
    expect(decoded.dynamic_metadata.fields.decision_id.stringValue).toBe('d-1');
  });

  it('ok_response with headers, headers_to_remove and response headers', () => {
    const OurRes = ours.lookupType('envoy.service.auth.v3.CheckResponse');
    const EnvoyRes = envoy.lookupType('envoy.service.auth.v3.CheckResponse');
    const mine = {
      status: { code: 0 },
      ok_response: {
        headers: [
          { header: { key: 'x-authz-decision-id', value: 'd-2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        headers_to_remove: ['authorization'],
        response_headers_to_add: [{ header: { key: 'ratelimit', value: 'limit=10' }, append_action: 'ADD_IF_ABSENT' }],
      },
    };
    const decoded = EnvoyRes.toObject(
      EnvoyRes.decode(OurRes.encode(OurRes.fromObject(mine)).finish()),
      toObject,
    ) as any;
    expect(decoded.http_response).toBe('ok_response');
    expect(decoded.ok_response.headers[0].append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(decoded.ok_response.headers_to_remove).toEqual(['authorization']);
    expect(decoded.ok_response.response_headers_to_add[0]).toMatchObject({
      header: { key: 'ratelimit' },
      append_action: 'ADD_IF_ABSENT',
    });
  });

  it('uses the field numbers of Envoy for every field authzd defines', () => {
    const pairs: [string, string][] = [
      ['envoy.service.auth.v3.CheckResponse', 'envoy.service.auth.v3.CheckResponse'],
      ['envoy.service.auth.v3.OkResponse', 'envoy.service.auth.v3.OkHttpResponse'],
      ['envoy.service.auth.v3.DeniedResponse', 'envoy.service.auth.v3.DeniedHttpResponse'],
      ['envoy.service.auth.v3.Attributes', 'envoy.service.auth.v3.AttributeContext'],
      ['envoy.service.auth.v3.Peer', 'envoy.service.auth.v3.AttributeContext.Peer'],
      ['envoy.service.auth.v3.RequestAttributes', 'envoy.service.auth.v3.AttributeContext.Request'],
      ['envoy.service.auth.v3.HttpAttributes', 'envoy.service.auth.v3.AttributeContext.HttpRequest'],
      ['envoy.service.auth.v3.HeaderOption', 'envoy.config.core.v3.HeaderValueOption'],
      ['envoy.service.auth.v3.Header', 'envoy.config.core.v3.HeaderValue'],
      ['envoy.service.auth.v3.PeerSocketAddress', 'envoy.config.core.v3.SocketAddress'],
      ['envoy.service.auth.v3.MetadataMap', 'envoy.config.core.v3.Metadata'],
      ['envoy.service.auth.v3.RpcStatus', 'google.rpc.Status'],
    ];
    for (const [mine, theirs] of pairs) {
      const a = ours.lookupType(mine);
      const b = envoy.lookupType(theirs);
      for (const field of a.fieldsArray) {
        const other = b.fields[field.name];
        expect(other, `${theirs}.${field.name}`).toBeDefined();
        expect(other.id, `${mine}.${field.name} number`).toBe(field.id);
        expect(other.repeated || other.map, `${mine}.${field.name} repeated`).toBe(field.repeated || field.map);
      }
    }
  });
});
