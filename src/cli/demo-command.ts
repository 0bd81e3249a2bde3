import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';

import { ConfigError } from '../config/config-error.js';
import { ConfigSchema } from '../config/config-schema.js';
import { deepFreeze } from '../config/deep-freeze.js';
import { startAuthzd } from '../server/start-authzd.js';
import { EXIT } from './exit-codes.js';
import { parseFlags } from './parse-flags.js';

const ISSUER = 'https://issuer.demo.authzd.local';
const AUDIENCE = 'bank-api';

interface DemoUser {
  readonly sub: string;
  readonly tenant: string;
  readonly roles: string[];
  readonly scope: string;
  readonly acr?: string;
}

const USERS: Record<string, DemoUser> = {
  alice: { sub: 'alice', tenant: 'acme', roles: ['customer'], scope: 'accounts:read payments:write', acr: 'mfa' },
  bob: { sub: 'bob', tenant: 'acme', roles: ['teller'], scope: 'accounts:read' },
  carol: { sub: 'carol', tenant: 'acme', roles: ['admin'], scope: 'accounts:read customers:export' },
  dave: { sub: 'dave', tenant: 'acme', roles: ['tenant-admin'], scope: 'billing:write' },
  erin: { sub: 'erin', tenant: 'globex', roles: ['customer'], scope: 'accounts:read payments:write' },
};

/** Demo checks: who does what, and what the example policies answer. */
const CHECKS: { user?: keyof typeof USERS; method: string; path: string; expect: string }[] = [
  { user: 'alice', method: 'GET', path: '/accounts/acc-1001', expect: 'ALLOW (account-owner-read)' },
  { user: 'bob', method: 'GET', path: '/accounts/acc-1001', expect: 'ALLOW (teller-read)' },
  { user: 'erin', method: 'GET', path: '/accounts/acc-1001', expect: 'DENY 403 policy_denied (tenant-isolation)' },
  { user: 'alice', method: 'POST', path: '/accounts/acc-1001/transfers', expect: 'ALLOW (owner-transfer, MFA login)' },
  {
    user: 'alice',
    method: 'POST',
    path: '/accounts/acc-1002/transfers',
    expect: 'DENY 403 policy_denied (frozen-account)',
  },
  {
    user: 'erin',
    method: 'POST',
    path: '/accounts/acc-2001/transfers',
    expect: 'DENY 401 step_up_required (no MFA login: RFC 9470 challenge)',
  },
  { user: 'carol', method: 'GET', path: '/tenants/acme/customers/export', expect: 'ALLOW (admin-export)' },
  {
    user: 'carol',
    method: 'GET',
    path: '/tenants/globex/customers/export',
    expect: 'DENY 403 policy_denied (tenant-isolation)',
  },
  { user: 'dave', method: 'PUT', path: '/tenants/acme/billing-plan', expect: 'ALLOW (tenant-admin-billing)' },
  { user: 'bob', method: 'DELETE', path: '/accounts/acc-1001', expect: 'DENY 403 route_not_found' },
  { method: 'GET', path: '/accounts/acc-1001', expect: 'DENY 401 token_missing' },
];

export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    'grpc-addr': { type: 'string', default: '127.0.0.1:9191' },
    'admin-addr': { type: 'string', default: '127.0.0.1:9192' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write('usage: authzd demo [--grpc-addr ADDR] [--admin-addr ADDR]\n');
    return 0;
  }
  // A throwaway issuer: a fresh ES256 key whose public half the sidecar trusts for this run only. Its folder
  // (key set, audit log) goes when the demo does, however it ends: Ctrl-C, SIGTERM, a failed start, a crash.
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-demo-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  try {
    return await runDemo(dir, values['grpc-addr'], values['admin-addr']);
  } finally {
    removeDir();
  }
}

async function runDemo(dir: string, grpcAddress: string, adminAddress: string): Promise<number> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = `demo-${Date.now().toString(36)}`;
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }, null, 2),
  );

  const config = deepFreeze(
    ConfigSchema.parse({
      grpc: { address: grpcAddress },
      admin: { address: adminAddress },
      tokens: { issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], algorithms: ['ES256'], jwksFile }] },
      audit: { destination: path.join(dir, 'audit.log') },
      log: { level: 'warn' },
    }),
  );
  // Listening before anything else, so a signal during start-up still ends the demo (and removes its folder).
  let signalled = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      signalled = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  let app;
  try {
    app = await startAuthzd(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authzd demo: ${err.message}\n`);
      return EXIT.failure;
    }
    throw err;
  }
  if (signalled) {
    await app.shutdown();
    return EXIT.ok;
  }

  const tokens: Record<string, string> = {};
  for (const [name, user] of Object.entries(USERS)) {
    // An MFA login says when it happened: the example's transfer-requires-mfa wants one within the hour.
    const login = user.acr !== undefined ? { acr: user.acr, auth_time: Math.floor(Date.now() / 1000) } : {};
    tokens[name] = await new SignJWT({ tenant: user.tenant, roles: user.roles, scope: user.scope, ...login })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(user.sub)
      .setIssuedAt()
      .setExpirationTime('8h')
      .sign(privateKey);
  }

  const cli = `node ${path.relative(process.cwd(), fileURLToPath(new URL('./main.js', import.meta.url)))}`;
  const out: string[] = [
    '',
    `authzd demo: sidecar ready on ${grpcAddress} (gRPC ext_authz) and http://${adminAddress} (/metrics, /readyz)`,
    `  policies: the embedded example (policies/), version ${app.store.version}`,
    `  issuer:   ${ISSUER} (throwaway ES256 key, JWKS in ${jwksFile}), audience ${AUDIENCE}`,
    `  audit log: ${path.join(dir, 'audit.log')}`,
    '',
    'Paste any of these into another terminal (tokens are valid for 8 hours):',
    '',
  ];
  for (const check of CHECKS) {
    const who = check.user ?? 'anonymous';
    out.push(`# ${who}: ${check.method} ${check.path}  -> expect ${check.expect}`);
    const token = check.user !== undefined ? ` --token ${tokens[check.user]}` : '';
    out.push(`${cli} check --addr ${grpcAddress} --method ${check.method} --path ${check.path}${token}`);
    out.push('');
  }
  out.push(`# the ledger service over mTLS, without a user token -> expect ALLOW (ledger-reads-accounts)`);
  out.push(
    `${cli} check --addr ${grpcAddress} --method GET --path /accounts/acc-1001 --source-principal spiffe://cluster.local/ns/bank/sa/ledger`,
  );
  out.push('');
  out.push(
    `# a connection without HTTP attributes (network filter), from the ledger workload -> expect ALLOW (ledger-to-core)`,
  );
  out.push(
    `${cli} check --addr ${grpcAddress} --network --source-principal spiffe://cluster.local/ns/bank/sa/ledger --destination-principal spiffe://cluster.local/ns/bank/sa/core-banking`,
  );
  out.push('');
  out.push(`curl -s http://${adminAddress}/metrics | grep authzd_decisions_total`);
  out.push('');
  out.push('Ctrl-C stops the demo.');
  process.stdout.write(`${out.join('\n')}\n`);

  await stopped;
  await app.shutdown();
  return EXIT.ok;
}
