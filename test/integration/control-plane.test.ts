// `authzd control-plane` as an operator runs it: the built CLI in a child process on 127.0.0.1, a copy of
// the example policies, keys from generateSigningKeys, and a restart on the same data directory.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_SCOPE } from '../../src/bundle/bundle-format.js';
import { generateSigningKeys, readPublicKey } from '../../src/bundle/bundle-keys.js';
import { verifyBundle } from '../../src/bundle/verify-bundle.js';
import { parseRevocationFeed } from '../../src/revocation/revocation-entry.js';
import { examplePolicyFiles } from '../helpers/policy-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const ADMIN = 'integration-admin-token-0123456789';

interface Running {
  child: ChildProcess;
  base: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

let dir: string;
let feedId = '';
let policies: string;
let keys: { privateKeyFile: string; publicKeyFile: string; kid: string };
let cp: Running;

function start(extra: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const args = [
    CLI,
    'control-plane',
    '--policies',
    policies,
    '--signing-key',
    keys.privateKeyFile,
    '--kid',
    keys.kid,
    '--addr',
    '127.0.0.1:0',
    '--data',
    path.join(dir, 'data'),
    '--bundle-name',
    'bank',
    ...extra,
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AUTHZD_CP_ADMIN_TOKEN: ADMIN, ...env },
  });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane did not start:\n${err}`)), 20_000);
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const line = err.split('\n').find((l) => l.includes('"control plane ready"'));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve({ child, base: `http://127.0.0.1:${JSON.parse(line).port}`, stderr: () => err, exit });
    });
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`control plane exited with ${code}:\n${err}`));
    });
  });
}

function run(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

const admin = { authorization: `Bearer ${ADMIN}` };
const bundle = (headers: Record<string, string> = {}, query = '') =>
  fetch(`${cp.base}/v1/bundles/bank${query}`, { headers });
const metrics = async () => (await fetch(`${cp.base}/metrics`)).text();
const trustedKeys = async () => [await readPublicKey(keys.publicKeyFile, keys.kid)];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-control-plane-'));
  policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
  keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'cp-integration' });
  cp = await start();
});

afterAll(async () => {
  if (cp.child.exitCode === null) {
    cp.child.kill('SIGTERM');
    await cp.exit;
  }
});

/** The revisions published so far, oldest first: each one the Unix time in seconds or above, each above the last. */
const published: number[] = [];
function newRevision(header: string | null): number {
  const revision = Number(header);
  expect(revision).toBeGreaterThan(published.at(-1) ?? 0);
  expect(revision).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000));
  published.push(revision);
  return revision;
}
const startedAt = Date.now();

describe('authzd control-plane', () => {
  it('serves a signed bundle of the policy directory that verifyBundle accepts, numbered by the clock', async () => {
    const r = await bundle();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/gzip');
    const revision = newRevision(r.headers.get('x-authzd-revision'));
    expect(revision).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
    const bytes = new Uint8Array(await r.arrayBuffer());
    const verified = await verifyBundle(bytes, { keys: await trustedKeys(), scope: DEFAULT_SCOPE });
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.bundle.revision).toBe(revision);
    expect(verified.bundle.files).toEqual(examplePolicyFiles());
    expect(r.headers.get('etag')).toBe(`"${revision}-${verified.bundle.digest.slice(0, 16)}"`);
    expect((await fetch(`${cp.base}/readyz`)).status).toBe(200);
  });

  it('answers 304 to the current ETag', async () => {
    const etag = (await bundle()).headers.get('etag')!;
    const r = await bundle({ 'if-none-match': etag });
    expect(r.status).toBe(304);
    expect(r.headers.get('etag')).toBe(etag);
  });

  it('wakes a long poll with the new revision when a policy file is edited', async () => {
    const etag = (await bundle()).headers.get('etag')!;
    // The wait bounds how long the edit may take to arrive: a 304 means it did not within 3 s.
    const waiting = bundle({ 'if-none-match': etag }, '?wait=3');
    await expect
      .poll(async () => (await metrics()).includes('authzd_cp_long_poll_waiters{feed="bundle"} 1'))
      .toBe(true);
    appendFileSync(path.join(policies, 'accounts.cedar'), '\n// reviewed\n');
    const r = await waiting;
    expect(r.status).toBe(200);
    newRevision(r.headers.get('x-authzd-revision'));
    const verified = await verifyBundle(new Uint8Array(await r.arrayBuffer()), {
      keys: await trustedKeys(),
      scope: DEFAULT_SCOPE,
    });
    expect(verified.ok && verified.bundle.files.get('accounts.cedar')).toContain('// reviewed');
  });

  it('does not publish a broken edit, says why, and publishes the next good one', async () => {
    const etag = (await bundle()).headers.get('etag')!;
    const good = readFileSync(path.join(policies, 'accounts.cedar'), 'utf8');
    writeFileSync(path.join(policies, 'accounts.cedar'), `${good}\npermit (principal, action, resource) when {\n`);
    await expect.poll(() => cp.stderr().includes('policy set rejected; not published'), { timeout: 30_000 }).toBe(true);
    const log = cp
      .stderr()
      .split('\n')
      .find((l) => l.includes('policy set rejected'))!;
    expect(JSON.parse(log).problems.join('\n')).toContain('accounts.cedar');
    expect(await metrics()).toContain('authzd_cp_publishes_total{result="rejected",trigger="watch"} 1');
    expect((await bundle({ 'if-none-match': etag })).status).toBe(304);

    const waiting = bundle({ 'if-none-match': etag }, '?wait=5');
    writeFileSync(path.join(policies, 'accounts.cedar'), `${good}\n// fixed\n`);
    const r = await waiting;
    expect(r.status).toBe(200);
    newRevision(r.headers.get('x-authzd-revision'));
  });

  it('publishes on POST only with the admin token', async () => {
    const publish = (headers: Record<string, string>) =>
      fetch(`${cp.base}/v1/bundles/bank/publish`, { method: 'POST', headers });
    const denied = await publish({});
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'unauthorized', detail: 'the admin token is required' });
    expect((await publish({ authorization: 'Bearer not-the-admin-token-000000' })).status).toBe(401);
    const r = await publish(admin);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ result: 'unchanged', revision: published.at(-1) });
  });

  it('feeds a new revocation to a waiting long poll', async () => {
    const feed = (query: string) => fetch(`${cp.base}/v1/revocations${query}`);
    const first = parseRevocationFeed(await (await feed('?since=0')).json());
    expect(first).toEqual({
      ok: true,
      value: { feed: expect.stringMatching(/^[0-9a-f-]{36}$/), seq: 0, reset: true, entries: [] },
    });
    feedId = first.ok ? first.value.feed! : '';
    // An empty store and a client at 0 agree: the poll waits for the first entry.
    const waiting = feed('?since=0&wait=10');
    await expect
      .poll(async () => (await metrics()).includes('authzd_cp_long_poll_waiters{feed="revocations"} 1'))
      .toBe(true);
    const posted = await fetch(`${cp.base}/v1/revocations`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'jti', value: 'token-123', issuer: 'https://login.example.com/', ttlSeconds: 3600 }),
    });
    expect(posted.status).toBe(201);
    const entry = await posted.json();
    expect(entry).toMatchObject({ seq: 1, kind: 'jti', value: 'token-123' });
    expect(parseRevocationFeed(await (await waiting).json())).toEqual({
      ok: true,
      value: { feed: feedId, seq: 1, reset: true, entries: [entry] },
    });

    const next = feed('?since=1&wait=10');
    await expect
      .poll(async () => (await metrics()).includes('authzd_cp_long_poll_waiters{feed="revocations"} 1'))
      .toBe(true);
    const second = await fetch(`${cp.base}/v1/revocations`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'sub',
        value: 'mallory',
        issuedBefore: Math.floor(Date.now() / 1000),
        ttlSeconds: 3600,
      }),
    });
    expect(second.status).toBe(201);
    const page = parseRevocationFeed(await (await next).json());
    expect(page).toEqual({ ok: true, value: { feed: feedId, seq: 2, reset: false, entries: [await second.json()] } });
  });

  it('decides /v1/authorize with the served policies: allow and deny', async () => {
    const ask = async (sub: string, tenant: string, account: string) => {
      const body = {
        principal: { uid: { type: 'Bank::User', id: sub }, attrs: { tenant } },
        action: { type: 'Bank::Action', id: 'readAccount' },
        resource: { type: 'Bank::Account', id: account },
        context: {
          request: {
            method: 'GET',
            path: `/accounts/${account}`,
            host: 'bank.example',
            scheme: 'https',
            routeId: 'get-account',
            time: 1_800_000_000,
          },
          token: { iss: 'https://login.example.com/', sub, exp: 1_800_003_600, scope: [], amr: [] },
        },
      };
      return (await fetch(`${cp.base}/v1/authorize`, { method: 'POST', body: JSON.stringify(body) })).json();
    };
    expect(await ask('alice', 'acme', 'acc-1001')).toMatchObject({
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['account-owner-read'],
      policyVersion: expect.stringMatching(new RegExp(`^${published.at(-1)}-[0-9a-f]{16}$`)),
    });
    expect(await ask('alice', 'acme', 'acc-2001')).toMatchObject({
      decision: 'deny',
      reason: 'policy_denied',
      policies: ['tenant-isolation'],
    });
  });

  it('publishes the directory on SIGHUP', async () => {
    cp.child.kill('SIGHUP');
    await expect
      .poll(async () => (await metrics()).includes('authzd_cp_publishes_total{result="unchanged",trigger="signal"} 1'))
      .toBe(true);
  });

  it('answers parked long polls on SIGTERM, exits 0, and keeps revisions and revocations across a restart', async () => {
    const etag = (await bundle()).headers.get('etag')!;
    const waiting = bundle({ 'if-none-match': etag }, '?wait=30');
    await expect
      .poll(async () => (await metrics()).includes('authzd_cp_long_poll_waiters{feed="bundle"} 1'))
      .toBe(true);
    cp.child.kill('SIGTERM');
    expect((await waiting).status).toBe(304);
    expect(await cp.exit).toBe(0);

    cp = await start();
    const r = await bundle();
    expect(r.headers.get('etag')).toBe(etag);
    expect(r.headers.get('x-authzd-revision')).toBe(String(published.at(-1)));
    const history = (await (await fetch(`${cp.base}/v1/bundles/bank/revisions`)).json()) as {
      revisions: { revision: number }[];
    };
    expect(history.revisions.map((x) => x.revision)).toEqual([...published].reverse());
    const feed = await (await fetch(`${cp.base}/v1/revocations?since=0`)).json();
    // The same feed (its id is kept under --data), the same entries.
    expect(feed).toMatchObject({
      feed: feedId,
      seq: 2,
      reset: true,
      entries: [
        { seq: 1, value: 'token-123' },
        { seq: 2, value: 'mallory' },
      ],
    });
    expect(cp.stderr()).toContain('serving the recorded bundle');
    expect(cp.stderr()).not.toContain(ADMIN);
  });
});

describe('authzd control-plane start-up errors', () => {
  it('exits 1 listing every problem: no admin token, an unusable key, a missing policy directory', async () => {
    const notAKey = path.join(dir, 'not-a-key.pem');
    writeFileSync(notAKey, 'hello');
    const r = await run(
      [
        'control-plane',
        '--policies',
        path.join(dir, 'nowhere'),
        '--signing-key',
        notAKey,
        '--kid',
        'k',
        '--addr',
        '127.0.0.1:0',
        '--data',
        path.join(dir, 'data-2'),
      ],
      { AUTHZD_CP_ADMIN_TOKEN: undefined },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid configuration');
    expect(r.stderr).toContain(`--policies ${path.join(dir, 'nowhere')}: not a readable directory`);
    expect(r.stderr).toContain('no admin token');
  });

  it('exits 1 naming the signing key file when it is not a private key', async () => {
    const notAKey = path.join(dir, 'not-a-key-2.pem');
    writeFileSync(notAKey, 'hello');
    const r = await run(
      [
        'control-plane',
        '--policies',
        policies,
        '--signing-key',
        notAKey,
        '--kid',
        'k',
        '--addr',
        '127.0.0.1:0',
        '--data',
        path.join(dir, 'data-3'),
      ],
      { AUTHZD_CP_ADMIN_TOKEN: ADMIN },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${notAKey}: not a PKCS#8 private key`);
  });
});
