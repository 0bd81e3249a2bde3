import http from 'node:http';

import type { Exposition } from '../telemetry/metrics-exposition.js';
import { listenAddress } from '../util/listen-address.js';
import type { Readiness } from './health-service.js';

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Where /metrics comes from: the sidecar's registry (OpenMetrics when the scrape's Accept header asks for it,
 * so that exemplars reach Prometheus; text otherwise), or the primary's aggregation of its workers (text).
 */
export interface MetricsSource {
  metrics(accept: string | undefined): Promise<Exposition>;
}

/** The admin listener: /metrics for Prometheus, /healthz (liveness) and /readyz (readiness) for Kubernetes. */
export async function startAdminServer(
  address: string,
  deps: { registry: MetricsSource; readiness: Readiness; jwks?: () => unknown },
): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url) {
      case '/metrics':
        deps.registry.metrics(req.headers.accept).then(
          ({ text, contentType }) => res.writeHead(200, { 'content-type': contentType, vary: 'accept' }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/.well-known/jwks.json':
        // The public keys of decision assertions, for the services behind the proxy to verify them.
        if (deps.jwks === undefined) break;
        res
          .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' })
          .end(JSON.stringify(deps.jwks()));
        return;
      case '/readyz':
        if (deps.readiness.serving) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
        else res.writeHead(503, { 'content-type': 'text/plain' }).end('not ready\n');
        return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenAddress(address), () => resolve());
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound !== null ? bound.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
