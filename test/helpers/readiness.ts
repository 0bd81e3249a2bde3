// The three places a sidecar reports readiness, read together: /readyz, the authzd_ready gauge and
// grpc.health.v1 (what Envoy's and Kubernetes' probes see). They must always agree.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { PROTO_DIR } from '../../src/server/load-protos.js';

export interface ReadinessReport {
  readonly readyz: number;
  readonly gauge: string | undefined;
  readonly health: string;
}

export async function readinessOf(ports: { grpcPort: number; adminPort: number }): Promise<ReadinessReport> {
  const readyz = (await fetch(`http://127.0.0.1:${ports.adminPort}/readyz`)).status;
  const metrics = await (await fetch(`http://127.0.0.1:${ports.adminPort}/metrics`)).text();
  const gauge = /^authzd_ready (\S+)$/m.exec(metrics)?.[1];
  const definition = protoLoader.loadSync('grpc/health/v1/authzd_health.proto', {
    includeDirs: [PROTO_DIR],
    enums: String,
  });
  const Health = (grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health;
  const client = new Health(`127.0.0.1:${ports.grpcPort}`, grpc.credentials.createInsecure());
  try {
    const health = await new Promise<string>((resolve, reject) =>
      client.Check({ service: 'envoy.service.auth.v3.Authorization' }, (err: unknown, res: { status: string }) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
    return { readyz, gauge, health };
  } finally {
    client.close();
  }
}

export const READY: ReadinessReport = { readyz: 200, gauge: '1', health: 'SERVING' };
export const NOT_READY: ReadinessReport = { readyz: 503, gauge: '0', health: 'NOT_SERVING' };
