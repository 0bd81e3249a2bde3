// One bundle scope by default, everywhere, with real processes: a control plane started without --scope
// signs bundles that `authzd bundle verify`, `authzd replay --bundle` and a sidecar (`serve --bundle-url`)
// accept without being told a scope, the sidecar also from a static copy under another file name ("the
// sidecar needs only a URL"); `serve --bundle-scope` sets the scope a sidecar expects.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { CLI, ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { until } from '../helpers/until.js';

const ADMIN = 'scope-admin-token-0123456789abcdef';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let kid: string;
let publicKey: string;
let issuer: TestIssuer;
let cp: RunningCli<{ port: number }>;
let mirror: http.Server;
let mirrorBase: string;
/** Static files by URL path: a plain HTTP server with no notion of bundles, scopes or ETags. */
const files = new Map<string, Uint8Array>();
const sidecars: RunningCli<{ adminPort: number }>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-scope-'));
  issuer = await createTestIssuer();
  const generated = await run(['keys', 'generate', '--out', path.join(dir, 'keys')]);
  expect(generated.code, generated.stderr).toBe(0);
  kid = generated.stdout.trim();
  publicKey = `${kid}=${path.join(dir, 'keys', 'public-key.pem')}`;
  const policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
  cp = await spawnCli(
    [
      'control-plane',
      '--policies',
      policies,
      '--signing-key',
      path.join(dir, 'keys', 'signing-key.pem'),
      '--kid',
      kid,
      '--addr',
      '127.0.0.1:0',
      '--data',
      path.join(dir, 'data'),
    ],
    (l) => (l.msg === 'control plane ready' ? { port: l.port as number } : undefined),
    { env: { AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );
  mirror = http.createServer((req, res) => {
    const body = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  mirrorBase = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await cp?.stop();
  mirror?.close();
  if (issuer !== undefined) rmSync(issuer.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** The control plane's current bundle, as a file a person would download. */
async function downloadBundle(name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${cp.info.port}/v1/bundles/default`);
  expect(res.status).toBe(200);
  const file = path.join(dir, name);
  writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
  return file;
}

function serve(bundleUrl: string, extra: string[] = []): Promise<RunningCli<{ adminPort: number }>> {
  return spawnCli(
    [
      'serve',
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--issuer',
      ISSUER,
      '--audience',
      AUDIENCE,
      '--jwks',
      issuer.jwksFile,
      '--bundle-url',
      bundleUrl,
      '--bundle-public-key',
      publicKey,
      ...extra,
    ],
    (l) => (typeof l.adminPort === 'number' && typeof l.grpcPort === 'number' ? { adminPort: l.adminPort } : undefined),
  ).then((s) => {
    sidecars.push(s);
    return s;
  });
}

const metricsOf = async (s: RunningCli<{ adminPort: number }>) =>
  (await fetch(`http://127.0.0.1:${s.info.adminPort}/metrics`)).text();
const ready = (s: RunningCli<{ adminPort: number }>) =>
  until(
    'the sidecar to activate the bundle and report ready',
    async () => ((await fetch(`http://127.0.0.1:${s.info.adminPort}/readyz`)).status === 200 ? true : undefined),
    20_000,
  );
const refused = (s: RunningCli<{ adminPort: number }>) =>
  until(
    'the sidecar to refuse the bundle for its scope',
    async () =>
      /authzd_bundle_failures_total\{stage="verify",reason="bundle_scope_mismatch"\} [1-9]/.test(await metricsOf(s))
        ? true
        : undefined,
    20_000,
  );

describe('one default scope', () => {
  it('authzd bundle verify accepts a control-plane bundle without --scope, and reports the scope', async () => {
    const file = await downloadBundle('downloaded.tar.gz');
    const r = await run(['bundle', 'verify', file, '--public-key', publicKey]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('scope     authzd');
  });

  it('authzd replay --bundle accepts a control-plane bundle without --scope', async () => {
    const file = await downloadBundle('replayed.tar.gz');
    const log = path.join(dir, 'audit.log');
    writeFileSync(log, '');
    const r = await run(['replay', log, '--bundle', file, '--public-key', publicKey]);
    expect(r.stderr).not.toContain('bundle rejected');
    expect(r.code, r.stderr).toBe(0);
  });

  it('a sidecar takes the control plane bundles from its URL without being told a scope', async () => {
    await ready(await serve(`http://127.0.0.1:${cp.info.port}/v1/bundles/default`));
  });

  it('a sidecar takes the same bundle from a static copy under another file name: it needs only the URL', async () => {
    files.set('/mirror/bank-v7.tar.gz', readFileSync(await downloadBundle('copy.tar.gz')));
    const sidecar = await serve(`${mirrorBase}/mirror/bank-v7.tar.gz`);
    await ready(sidecar);
    expect(await metricsOf(sidecar)).not.toMatch(/bundle_scope_mismatch/);
  });
});

describe('serve --bundle-scope', () => {
  it('sets the scope a sidecar expects: a bundle built for it is taken, the same bundle is refused by a default sidecar', async () => {
    const built = path.join(dir, 'prod.tar.gz');
    const b = await run([
      'bundle',
      'build',
      path.join(ROOT, 'policies'),
      '-o',
      built,
      '--signing-key',
      path.join(dir, 'keys', 'signing-key.pem'),
      '--kid',
      kid,
      '--scope',
      'bank-api/prod',
    ]);
    expect(b.code, b.stderr).toBe(0);
    files.set('/prod/current', readFileSync(built));
    await ready(await serve(`${mirrorBase}/prod/current`, ['--bundle-scope', 'bank-api/prod']));
    await refused(await serve(`${mirrorBase}/prod/current`));
  });

  it('is refused without --bundle-url, with the usage exit code', async () => {
    const r = await run(['serve', '--bundle-scope', 'x']);
    expect(r.stderr).toContain('--bundle-scope');
    expect(r.code).toBe(2); // a usage error
  });
});
