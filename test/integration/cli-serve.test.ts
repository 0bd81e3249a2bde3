// The built CLI as a user runs it: `authzd serve` in a child process, `authzd check` against it, and the
// SIGTERM lifecycle (readiness off, in-flight checks drained, audit log flushed, exit 0).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let issuer: TestIssuer;
let dir: string;
beforeAll(async () => {
  issuer = await createTestIssuer();
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-cli-'));
});

interface Running {
  child: ChildProcess;
  grpcPort: number;
  adminPort: number;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `authzd serve` and waits for its "authzd ready" log line (which carries the bound ports). */
function serve(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`authzd did not start:\n${err}`)), 20_000);
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const line of err.split('\n')) {
        if (!line.includes('"authzd ready"')) continue;
        const parsed = JSON.parse(line);
        clearTimeout(timer);
        resolve({ child, grpcPort: parsed.grpcPort, adminPort: parsed.adminPort, stderr: () => err, exit });
        return;
      }
    });
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`authzd exited with ${code}:\n${err}`));
    });
  });
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const baseArgs = () => [
  '--issuer',
  ISSUER,
  '--audience',
  AUDIENCE,
  '--jwks',
  issuer.jwksFile,
  '--grpc-addr',
  '127.0.0.1:0',
  '--admin-addr',
  '127.0.0.1:0',
];

describe('authzd serve + authzd check', () => {
  let sidecar: Running;
  beforeAll(async () => {
    sidecar = await serve(baseArgs());
  });
  afterAll(async () => {
    sidecar.child.kill('SIGTERM');
    await sidecar.exit;
  });

  it('check prints an allow with the policies, exit 0', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const r = await run([
      'check',
      '--addr',
      `127.0.0.1:${sidecar.grpcPort}`,
      '--path',
      '/accounts/acc-1001',
      '--token',
      token,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ALLOW {2}reason=policy_allowed/);
    expect(r.stdout).toContain('policies         account-owner-read');
    expect(r.stdout).toContain('principal        Bank::User::"alice"');
  });

  it('check prints a deny with status, reason and body, exit 2', async () => {
    const r = await run(['check', '--addr', `127.0.0.1:${sidecar.grpcPort}`, '--path', '/accounts/acc-1001']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^DENY {3}401 {2}reason=token_missing/);
    expect(r.stdout).toContain('www-authenticate: Bearer');
  });

  it('check --explain decides locally with the sidecar configuration and shows every policy evaluated', async () => {
    const token = await issuer.sign({ sub: 'alice', roles: ['customer'], tenant: 'acme' });
    const issuerArgs = ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', issuer.jwksFile];
    // acc-2001 belongs to another tenant: no permit applies and tenant-isolation forbids.
    const r = await run(['check', '--explain', ...issuerArgs, '--path', '/accounts/acc-2001', '--token', token]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^DENY {3}reason=policy_denied {2}\(decided here, policy version sha256:[0-9a-f]+\)\n/);
    expect(r.stdout).toContain('\nexplain\n  DENY  determining: tenant-isolation; errors: none\n');
    expect(r.stdout).toContain(
      '  ✗ permit account-owner-read  accounts.cedar: scope matches\n      when { resource.owner == principal }  -> false\n',
    );
    expect(r.stdout).toMatch(/\n {2}scope did not match \(the part that missed\): [^\n]*owner-transfer \(action\)/);
    // Never the token, and no sidecar was asked (--addr points nowhere).
    expect(r.stdout).not.toContain(token);

    const allowed = await run(['check', '--explain', ...issuerArgs, '--path', '/accounts/acc-1001', '--token', token]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain(
      '  ✓ permit account-owner-read  accounts.cedar: scope matches\n      when { resource.owner == principal }  -> true\n',
    );

    const noToken = await run(['check', '--explain', ...issuerArgs, '--path', '/accounts/acc-1001']);
    expect(noToken.code).toBe(2);
    expect(noToken.stdout).toContain('reason=token_missing');
    expect(noToken.stdout).toContain('no policy was evaluated');

    const misuse = await run(['check', '--policies', 'x', '--path', '/a']);
    expect(misuse.code).not.toBe(0);
    expect(misuse.stderr).toContain('go with --explain');
  });

  it('check reports an unreachable sidecar as an error, exit 1', async () => {
    const r = await run(['check', '--addr', '127.0.0.1:9', '--path', '/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('gRPC error');
  });

  it('serves /healthz, /readyz and /metrics on the admin port', async () => {
    expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text()).toContain('authzd_ready 1');
  });
});

describe('start-up errors', () => {
  it('an invalid config file exits 1 listing every problem', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'grpc: { adress: x }\ntokens: { maxBytes: -1 }\n');
    const r = await run(['serve', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid configuration');
    expect(r.stderr).toContain('grpc: Unrecognized key: "adress"');
    expect(r.stderr).toContain('tokens.maxBytes');
  });

  it('a policy directory that does not compile exits 1 naming the file', async () => {
    const policies = path.join(dir, 'broken-policies');
    const { cpSync } = await import('node:fs');
    cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
    writeFileSync(path.join(policies, 'oops.cedar'), 'permit(principal, action, resource) when {');
    const r = await run(['serve', ...baseArgs(), '--policies', policies]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policy set rejected');
    expect(r.stderr).toContain('oops.cedar');
  });

  it('an unknown flag is a usage error', async () => {
    const r = await run(['serve', '--polices', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--polices'/);
  });
});

describe('SIGTERM', () => {
  it('flips readiness, answers every accepted check, writes every audit event, exits 0', async () => {
    // A JWKS endpoint that answers slowly keeps checks in flight while the signal arrives.
    const jwks = readFileSync(issuer.jwksFile, 'utf8');
    const slow = http.createServer((_req, res) =>
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks), 800),
    );
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const audit = path.join(dir, 'audit-sigterm.log');
    const config = path.join(dir, 'sigterm.yaml');
    writeFileSync(
      config,
      [
        'grpc: { address: "127.0.0.1:0" }',
        'admin: { address: "127.0.0.1:0" }',
        `audit: { destination: ${JSON.stringify(audit)} }`,
        'shutdown: { drainDelayMs: 300 }',
        'tokens:',
        '  issuers:',
        `    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksUrl: "http://127.0.0.1:${(slow.address() as AddressInfo).port}/jwks" }`,
      ].join('\n'),
    );
    const sidecar = await serve(['--config', config]);
    const client = envoyAuthorizationClient(`127.0.0.1:${sidecar.grpcPort}`);
    const token = await issuer.sign({ sub: 'alice' });
    const calls = Array.from({ length: 50 }, () =>
      client.check(httpCheckRequest({ path: '/accounts/acc-1001', token })).then(
        (res) => ({ ok: true as const, res }),
        (err) => ({ ok: false as const, err }),
      ),
    );
    await new Promise((r) => setTimeout(r, 150)); // all 50 are now waiting on the slow JWKS
    sidecar.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/readyz`)).status).toBe(503);
    const results = await Promise.all(calls);
    expect(await sidecar.exit).toBe(0);
    client.close();
    slow.close();
    expect(results.every((r) => r.ok && r.res.http_response === 'ok_response')).toBe(true);
    const events = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(50);
    expect(new Set(events.map((e) => e.decision_id)).size).toBe(50);
    expect(sidecar.stderr()).toContain('shutdown complete');
  });
});

describe('--workers 2', () => {
  it('serves from two processes behind one listener, with one admin endpoint summing both', async () => {
    const sidecar = await new Promise<Running>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [CLI, 'serve', ...baseArgs(), '--workers', '2', '--admin-addr', '127.0.0.1:0'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const timer = setTimeout(() => reject(new Error(`cluster did not start:\n${err}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const lines = err
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l));
        const workers = lines.filter((l) => l.msg === 'authzd ready');
        const cluster = lines.find((l) => l.msg === 'authzd cluster ready');
        if (cluster && workers.length === 2) {
          clearTimeout(timer);
          resolve({ child, grpcPort: workers[0].grpcPort, adminPort: cluster.adminPort, stderr: () => err, exit });
        }
      });
    });
    try {
      const workerIds = new Set(
        sidecar
          .stderr()
          .split('\n')
          .filter((l) => l.includes('"authzd ready"'))
          .map((l) => JSON.parse(l).worker),
      );
      expect(workerIds).toEqual(new Set([1, 2]));
      expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/readyz`)).status).toBe(200);
      const token = await issuer.sign({ sub: 'alice' });
      const clients = Array.from({ length: 4 }, () => envoyAuthorizationClient(`127.0.0.1:${sidecar.grpcPort}`));
      const answers = await Promise.all(
        clients.flatMap((c) =>
          Array.from({ length: 5 }, () => c.check(httpCheckRequest({ path: '/accounts/acc-1001', token }))),
        ),
      );
      expect(answers.every((a) => a.http_response === 'ok_response')).toBe(true);
      for (const c of clients) c.close();
      const metrics = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
      const total = [...metrics.matchAll(/^authzd_decisions_total\{[^}]*decision="allow"[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      expect(total).toBe(20);
      expect(metrics).toContain('authzd_ready 1');
    } finally {
      sidecar.child.kill('SIGTERM');
      expect(await sidecar.exit).toBe(0);
    }
  }, 60_000);
});
