import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { PolicyModelError } from '../policy/compile-policy-model.js';
import { createAuthorizationClient } from '../server/authorization-client.js';
import { explainCheck } from './explain-check.js';
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

  --explain                decide here instead of asking a sidecar, with the sidecar's configuration and
                           policies, and show how every policy evaluated: scope matched or not, each
                           condition's value, or the error and the sub-expression that raised it
  --config FILE            with --explain: the sidecar's configuration file (issuers, policies)
  --policies DIR           with --explain: the policy directory (default: the config's, else the embedded one)
  --issuer URL --audience AUD --jwks FILE|URL   with --explain: the token issuer, as for authzd serve

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
    explain: { type: 'boolean', default: false },
    config: { type: 'string' },
    policies: { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string', multiple: true },
    jwks: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.network && values.path === undefined) throw new UsageError('--path is required (or --network)');
  const local = [values.config, values.policies, values.issuer, values.audience, values.jwks];
  if (!values.explain && local.some((v) => v !== undefined))
    throw new UsageError('--config, --policies, --issuer, --audience and --jwks go with --explain');
  const issuerFlags = [values.issuer, values.audience, values.jwks].filter((v) => v !== undefined).length;
  if (issuerFlags !== 0 && issuerFlags !== 3) throw new UsageError('--issuer, --audience and --jwks go together');
  if (values.explain && values.json) throw new UsageError('--explain prints text; --json goes without it');

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

  if (values.explain) {
    try {
      const config = loadConfig(values.config, {
        ...(values.policies !== undefined ? { policies: values.policies } : {}),
        ...(values.issuer !== undefined
          ? { issuer: { issuer: values.issuer, audiences: values.audience!, jwks: values.jwks! } }
          : {}),
      });
      const { code, text } = await explainCheck(config, request);
      (code === 1 ? process.stderr : process.stdout).write(text);
      return code;
    } catch (err) {
      if (err instanceof ConfigError || err instanceof PolicyModelError) {
        process.stderr.write(`authzd check: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  }

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
