// A real nginx (Debian's package, with ngx_http_auth_request_module) in front of an upstream, asking
// authzd's HTTP interface about every request with `auth_request`. nginx is required: npm test installs it first,
// and without it this file fails rather than skips.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/free-port.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { startTestAuthzd } from '../helpers/test-authzd.js';

/**
 * The nginx configuration under test: the block docs/http-interface.md shows, with its ports and log path
 * replaced, inside a minimal main context with temp paths of our own (no root needed).
 */
function nginxConf(o: { dir: string; listenPort: number; authzdPort: number; upstreamPort: number }): string {
  const doc = readFileSync(new URL('../../docs/http-interface.md', import.meta.url), 'utf8');
  const block = /<!-- tested: nginx -->\n```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/http-interface.md has no tested nginx block');
  let http = block;
  for (const [from, to] of [
    ['access_log /var/log/nginx/access.log authz;', `access_log ${o.dir}/access.log authz;`],
    ['server 127.0.0.1:9193;', `server 127.0.0.1:${o.authzdPort};`],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${o.upstreamPort};`],
    ['listen 80;', `listen 127.0.0.1:${o.listenPort};`],
  ]) {
    // Each placeholder exactly once, so a change to the documented block cannot slip past this test.
    if (http.split(from).length !== 2) throw new Error(`docs nginx block: expected exactly one "${from}"`);
    http = http.replace(from, to);
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${o.dir}/${t};`)
    .join('\n');
  return `worker_processes 1;\nevents { worker_connections 64; }\nhttp {\n${temp}\n${http}}\n`;
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

let issuer: TestIssuer;
let authzd: Awaited<ReturnType<typeof startTestAuthzd>>;
let upstream: http.Server;
const upstreamSeen: Seen[] = [];
let nginx: ChildProcess;
let nginxStderr = '';
let nginxPort: number;
let dir: string;

beforeAll(async () => {
  const bin = findNginx();
  issuer = await createTestIssuer();
  authzd = await startTestAuthzd(issuer, { http: { address: '127.0.0.1:0', originalRequest: 'x-original' } });
  upstream = http.createServer((req, res) => {
    upstreamSeen.push({ method: req.method!, url: req.url!, headers: req.headers });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ upstream: true, headers: req.headers }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));

  dir = mkdtempSync(path.join(tmpdir(), 'authzd-nginx-'));
  // Started as root, nginx runs its workers as nobody; they must be able to reach the temp paths.
  chmodSync(dir, 0o755);
  nginxPort = await freePort();
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    nginxConf({
      dir,
      listenPort: nginxPort,
      authzdPort: authzd.app.httpPort,
      upstreamPort: (upstream.address() as AddressInfo).port,
    }),
  );
  nginx = spawn(
    bin,
    [
      '-e',
      'stderr',
      '-p',
      dir,
      '-c',
      path.join(dir, 'nginx.conf'),
      '-g',
      `daemon off; pid ${dir}/nginx.pid; error_log stderr;`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  nginx.stderr!.on('data', (chunk: Buffer) => (nginxStderr += chunk.toString()));
  await waitForPort(nginxPort, nginx);
});

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGQUIT');
    await exited;
  }
  if (upstream !== undefined) await new Promise((resolve) => upstream.close(resolve));
  await authzd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function send(opts: {
  method?: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
}): Promise<Answer> {
  const headers: Record<string, string> = { host: 'bank.example.com', ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: nginxPort, method: opts.method ?? 'GET', path: opts.path, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The audit event authzd wrote for a decision id. */
const auditFor = (id: unknown) => authzd.auditEvents.filter((e) => e.decision_id === id);

describe('nginx auth_request in front of authzd (http.originalRequest: x-original)', () => {
  it('allow: the upstream is reached and sees the decision id authzd recorded', async () => {
    const before = upstreamSeen.length;
    const res = await send({
      path: '/accounts/acc-1001?view=full',
      token: await issuer.sign({ sub: 'alice' }),
      headers: { 'x-authz-decision-id': 'forged-by-client' },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).upstream).toBe(true);
    expect(upstreamSeen).toHaveLength(before + 1);
    const seen = upstreamSeen.at(-1)!;
    expect(seen).toMatchObject({ method: 'GET', url: '/accounts/acc-1001?view=full' });
    const id = seen.headers['x-authz-decision-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-authz-policy-version']).toBe(authzd.app.store.version);
    expect(auditFor(id)).toEqual([
      expect.objectContaining({
        decision: 'allow',
        reason: 'policy_allowed',
        route: 'get-account',
        request: expect.objectContaining({ method: 'GET', host: 'bank.example.com', path: '/accounts/acc-1001' }),
      }),
    ]);
    expect(readFileSync(path.join(dir, 'access.log'), 'utf8')).toContain(
      `"GET /accounts/acc-1001?view=full HTTP/1.1" 200 decision=${id}`,
    );
  });

  it('no token: 401 with WWW-Authenticate: Bearer and the JSON body; the upstream is not reached', async () => {
    const before = upstreamSeen.length;
    const res = await send({ path: '/accounts/acc-1001' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['content-type']).toBe('application/json');
    const body = JSON.parse(res.body);
    expect(body).toEqual({
      error: 'unauthorized',
      reason: 'token_missing',
      decision_id: res.headers['x-authz-decision-id'],
    });
    expect(auditFor(body.decision_id)).toEqual([
      expect.objectContaining({ decision: 'deny', reason: 'token_missing' }),
    ]);
    expect(upstreamSeen).toHaveLength(before);
  });

  it('policy deny: 403 with the JSON body naming the forbid policy; the upstream is not reached', async () => {
    const before = upstreamSeen.length;
    const res = await send({ path: '/accounts/acc-2001', token: await issuer.sign({ sub: 'alice' }) });
    expect(res.status).toBe(403);
    const body = JSON.parse(res.body);
    expect(body).toEqual({
      error: 'forbidden',
      reason: 'policy_denied',
      policies: ['tenant-isolation'],
      decision_id: res.headers['x-authz-decision-id'],
    });
    expect(auditFor(body.decision_id)).toEqual([
      expect.objectContaining({ decision: 'deny', reason: 'policy_denied', policies: ['tenant-isolation'] }),
    ]);
    expect(upstreamSeen).toHaveLength(before);
  });

  it('authzd judges the original method and URI, not the subrequest or headers the client sent', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    // The subrequest nginx sends is a GET to /_authz; DELETE has no route, so only X-Original-Method explains a 403.
    const deleted = await send({ method: 'DELETE', path: '/accounts/acc-1001', token });
    expect(deleted.status).toBe(403);
    expect(auditFor(JSON.parse(deleted.body).decision_id)).toEqual([
      expect.objectContaining({ reason: 'route_not_found', request: expect.objectContaining({ method: 'DELETE' }) }),
    ]);
    // A client's own X-Original-URI is overwritten by nginx's proxy_set_header.
    const smuggled = await send({
      path: '/accounts/acc-2001',
      token,
      headers: { 'x-original-uri': '/accounts/acc-1001', 'x-original-method': 'GET' },
    });
    expect(smuggled.status).toBe(403);
    expect(JSON.parse(smuggled.body).reason).toBe('policy_denied');
  });

  it('a 400 from authzd (ambiguous path) reaches the client as nginx 500: auth_request passes only 2xx, 401, 403', async () => {
    const res = await send({ path: '/accounts/..%2Facc-1001', token: await issuer.sign({ sub: 'alice' }) });
    expect(res.status).toBe(500);
    expect(authzd.auditEvents.at(-1)).toMatchObject({ decision: 'deny', reason: 'path_invalid' });
    expect(nginxStderr).toContain('auth request unexpected status: 400');
  });

  it('every request was decided once, and counted in authzd metrics', async () => {
    // Five tests above sent 6 requests; none was asked twice (the deny bodies come from a header, not a second call).
    expect(authzd.auditEvents).toHaveLength(6);
    expect(new Set(authzd.auditEvents.map((e) => e.decision_id)).size).toBe(6);
    const metrics = await authzd.metricsText();
    expect(metrics).toMatch(
      /authzd_decisions_total\{decision="allow",reason="policy_allowed",route="get-account",source="engine"\} 1/,
    );
    expect(metrics).toMatch(
      /authzd_decisions_total\{decision="deny",reason="token_missing",route="",source="authentication"\} 1/,
    );
    // The second policy_denied may come from the decision cache: sum over sources.
    expect(decisions(metrics, 'decision="deny",reason="policy_denied"')).toBe(2);
    expect(metrics).toMatch(
      /authzd_decisions_total\{decision="deny",reason="route_not_found",route="",source="routing"\} 1/,
    );
    expect(metrics).toMatch(
      /authzd_decisions_total\{decision="deny",reason="path_invalid",route="",source="request"\} 1/,
    );
  });
});

/** The sum of authzd_decisions_total over every series whose labels start with `labels`. */
function decisions(metrics: string, labels: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`authzd_decisions_total{${labels}`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function findNginx(): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/nginx/sbin',
  ];
  for (const d of dirs.filter((x) => x.length > 0)) {
    const candidate = path.join(d, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(
    'nginx not found: this test needs a real nginx (Debian: apt-get install -y --no-install-recommends nginx; npm test installs it first: scripts/install-test-tools.sh)',
  );
}

/** A port the OS just handed out and released; nginx cannot listen on port 0 and report it. */

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${nginxStderr}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port}:\n${nginxStderr}`);
}
