// Envoy's official protos, as shipped inside @grpc/grpc-js-xds (deps/), for proving wire compatibility.
import { createRequire } from 'node:module';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const XDS_DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

export const ENVOY_INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  path.join(XDS_DEPS, d),
);

export function envoyProtoPath(relative: string): string {
  return path.join(XDS_DEPS, 'envoy-api', relative);
}

/** A protobufjs Root with the given Envoy protos (and their imports) loaded. */
export function loadEnvoyRoot(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of ENVOY_INCLUDE_DIRS) {
      const candidate = path.join(dir, target);
      try {
        require('node:fs').accessSync(candidate);
        return candidate;
      } catch {
        /* try the next include dir */
      }
    }
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(
    files.map((f) => envoyProtoPath(f)),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

/** An ext_authz client built from Envoy's own external_auth.proto, as Envoy's gRPC client would encode. */
export function envoyAuthorizationClient(address: string) {
  const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: ENVOY_INCLUDE_DIRS,
  });
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const Client = loaded.envoy.service.auth.v3.Authorization;
  const client = new Client(address, grpc.credentials.createInsecure());
  return {
    /** `deadlineMs`: the deadline Envoy would send (its ext_authz `timeout`), as grpc-timeout. */
    check(request: unknown, options: { deadlineMs?: number } = {}): Promise<any> {
      return new Promise((resolve, reject) => {
        client.Check(
          request,
          { deadline: Date.now() + (options.deadlineMs ?? 10_000) },
          (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
        );
      });
    },
    close: () => client.close(),
  };
}
