import { createAuthorizationClient } from '../server/authorization-client.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd check [options]

Sends one ext_authz CheckRequest, shaped like Envoy's, to a running sidecar and prints the decision.

  --addr ADDR              sidecar gRPC address (default 127.0.0.1:9191; unix:///path works)
  --method METHOD          HTTP method (default GET)
  --path PATH              request path, query included (required unless --network)
  --host HOST              :authority (default api.example.com)
  --token JWT              adds "authorization: Bearer JWT"
  --header "NAME: VALUE"   any request header (repeatable)
  --source-ip IP           client address Envoy saw (default 127.0.0.1)
  --source-principal ID    SPIFFE ID of the calling peer (mTLS)
  --destination-principal ID  SPIFFE ID of the called workload
  --network                send no HTTP attributes, like Envoy's network filter
  --json                   print the raw CheckResponse as JSON

exit status: 0 allowed, 2 denied, 1 error.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    addr: { type: 'string', default: '127.0.0.1:9191' },
    method: { type: 'string', default: 'GET' },
    path: { type: 'string' },
    host: { type: 'string', default: 'api.example.com' },
    token: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    'source-ip': { type: 'string', default: '127.0.0.1' },
    'source-principal': { type: 'string' },
    'destination-principal': { type: 'string' },
    network: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.network && values.path === undefined) throw new UsageError('--path is required (or --network)');

  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header "${h}": expected "NAME: VALUE"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (values.token !== undefined) headers.authorization = `Bearer ${values.token}`;
  const request = {
    attributes: {
      source: {
        address: { socket_address: { address: values['source-ip'], port_value: 50000 } },
        ...(values['source-principal'] !== undefined ? { principal: values['source-principal'] } : {}),
      },
      destination: {
        address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
        ...(values['destination-principal'] !== undefined ? { principal: values['destination-principal'] } : {}),
      },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        ...(values.network
          ? {}
          : {
              http: {
                id: `authzd-check-${process.pid}`,
                method: values.method.toUpperCase(),
                path: values.path,
                host: values.host,
                scheme: 'https',
                protocol: 'HTTP/1.1',
                headers: {
                  ':authority': values.host,
                  ':method': values.method.toUpperCase(),
                  ':path': values.path!,
                  ...headers,
                },
              },
            }),
      },
    },
  };

  const client = createAuthorizationClient(values.addr);
  try {
    const response = await client.check(request);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    } else {
      process.stdout.write(describe(response));
    }
    return response.status?.code ? 2 : 0;
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string };
    process.stderr.write(`authzd check: gRPC error ${e.code ?? ''} ${e.details ?? e.message ?? ''}\n`);
    return 1;
  } finally {
    client.close();
  }
}

function describe(response: any): string {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries<any>(response.dynamic_metadata?.fields ?? {})) meta[k] = v.stringValue ?? '';
  const lines: string[] = [];
  if (response.ok_response !== undefined) {
    lines.push(`ALLOW  reason=${meta.reason ?? '?'}`);
    for (const h of response.ok_response.headers ?? [])
      lines.push(`  upstream header  ${h.header.key}: ${h.header.value}`);
    for (const h of response.ok_response.headers_to_remove ?? []) lines.push(`  removed header   ${h}`);
  } else {
    const denied = response.denied_response ?? {};
    lines.push(`DENY   ${denied.status?.code ?? '?'}  reason=${meta.reason ?? '?'}`);
    for (const h of denied.headers ?? []) lines.push(`  response header  ${h.header.key}: ${h.header.value}`);
    if (denied.body) lines.push(`  body             ${denied.body}`);
  }
  if (meta.policies) lines.push(`  policies         ${meta.policies.split(',').join(', ')}`);
  if (meta.route) lines.push(`  route            ${meta.route}`);
  if (meta.principal) lines.push(`  principal        ${meta.principal}`);
  lines.push(`  policy version   ${meta.policy_version ?? '?'}`);
  lines.push(`  decision id      ${meta.decision_id ?? '?'}`);
  return `${lines.join('\n')}\n`;
}
