import { createAuditLog } from '../../src/audit/audit-log.js';
import type { ConfigInput } from '../../src/config/config-schema.js';
import { type Authzd, type AuthzdDeps, startAuthzd } from '../../src/server/start-authzd.js';
import { createLogger } from '../../src/telemetry/create-logger.js';
import { testConfig } from './config.js';
import { envoyAuthorizationClient } from './envoy-protos.js';
import type { TestIssuer } from './issuer.js';

export interface AuditEvent {
  readonly [key: string]: any;
}

/** authzd in-process on ephemeral loopback ports, a client speaking Envoy's protos, and its audit events. */
export async function startTestAuthzd(
  issuer: TestIssuer | undefined,
  overrides: ConfigInput = {},
  deps: Pick<AuthzdDeps, 'env'> = {},
) {
  const config = testConfig(issuer, overrides);
  const auditEvents: AuditEvent[] = [];
  const audit = createAuditLog(config.audit, {
    stream: { write: (line: string) => void auditEvents.push(JSON.parse(line)) },
  });
  const logLines: any[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(JSON.parse(line)) });
  const app: Authzd = await startAuthzd(config, { audit, logger, env: deps.env ?? {} });
  const client = envoyAuthorizationClient(`127.0.0.1:${app.grpcPort}`);
  return {
    app,
    config,
    client,
    auditEvents,
    logLines,
    async metricsText(): Promise<string> {
      const res = await fetch(`http://127.0.0.1:${app.adminPort}/metrics`);
      return res.text();
    },
    async stop() {
      client.close();
      await app.shutdown();
    },
  };
}

/** A CheckRequest as Envoy's HTTP ext_authz filter sends it (proto field names, Envoy's own protos). */
export function httpCheckRequest(opts: {
  method?: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  host?: string;
  sourceIp?: string;
  sourcePrincipal?: string;
}): Record<string, unknown> {
  const host = opts.host ?? 'bank.example.com';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': opts.method ?? 'GET',
    ':path': opts.path,
    ':scheme': 'https',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'https',
    'x-request-id': '2f1c5c8e-7d4c-4b8e-9a51-0c7d3a9e6f10',
    ...opts.headers,
  };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  return {
    attributes: {
      source: {
        address: { socket_address: { address: opts.sourceIp ?? '10.1.2.3', port_value: 53422 } },
        ...(opts.sourcePrincipal !== undefined ? { principal: opts.sourcePrincipal } : {}),
      },
      destination: { address: { socket_address: { address: '10.1.0.7', port_value: 8080 } } },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        http: {
          id: '11400427465930417316',
          method: opts.method ?? 'GET',
          headers,
          path: opts.path,
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
