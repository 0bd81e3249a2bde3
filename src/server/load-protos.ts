import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the package root: two levels up from both src/server and dist/server. */
export const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

/** authzd's ext_authz service definition, relative to PROTO_DIR. */
export const EXT_AUTHZ_PROTO = 'envoy/service/auth/v3/authzd_ext_authz.proto';

/** How authzd loads its protos; the benchmark's clients and null server load them the same way. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export function loadAuthzdProtos() {
  const definition = protoLoader.loadSync(
    [EXT_AUTHZ_PROTO, 'grpc/health/v1/authzd_health.proto'],
    PROTO_LOADER_OPTIONS,
  );
  const loaded = grpc.loadPackageDefinition(definition) as any;
  return {
    definition,
    authorization: loaded.envoy.service.auth.v3.Authorization.service as grpc.ServiceDefinition,
    health: loaded.grpc.health.v1.Health.service as grpc.ServiceDefinition,
  };
}
