// The HTTP API in-process against a real listener on 127.0.0.1, on both stores: auth, conditional and
// long-polled GETs, uploads, error shapes and clean-up of abandoned long polls. The CLI end to end is
// test/integration/control-plane.test.ts.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../../src/bundle/bundle-keys.js';
import { writeTar } from '../../../src/bundle/write-tar.js';
import { API_ERROR_CODES } from '../../../src/control-plane/api-errors.js';
import { type ControlPlaneOptions, DEFAULT_TIMING } from '../../../src/control-plane/control-plane-options.js';
import { type ControlPlane, startControlPlane } from '../../../src/control-plane/start-control-plane.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';
import { freshStoreSettings, STORE_KINDS } from '../../helpers/control-plane-stores.js';
import { EXAMPLE_POLICIES, examplePolicyFiles } from '../../helpers/policy-files.js';
import { usePostgresCluster } from '../../helpers/postgres-cluster.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const cluster = usePostgresCluster();

describe.each(STORE_KINDS)('control plane API on the %s store', (kind) => {
  let cp: ControlPlane;
  let base: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-api-'));
    cpSync(EXAMPLE_POLICIES, path.join(dir, 'policies'), { recursive: true });
    const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'api-test' });
    const options: ControlPlaneOptions = {
      policies: path.join(dir, 'policies'),
      signingKeyFile: keys.privateKeyFile,
      kid: keys.kid,
      address: '127.0.0.1:0',
      store: await freshStoreSettings(kind, cluster, 'api'),
      bundleName: 'bank',
      scope: 'bank-prod',
      adminToken: ADMIN,
      readToken: READ,
      history: 5,
      timing: { ...DEFAULT_TIMING, waitTickMs: 50 },
    };
    cp = await startControlPlane(options, { logger: createLogger('silent') });
    base = `http://127.0.0.1:${cp.port}`;
  });

  afterAll(async () => {
    await cp?.shutdown();
  });

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const get = (p: string, headers: Record<string, string> = auth(READ), signal?: AbortSignal) =>
    fetch(`${base}${p}`, { headers, signal });
  const post = (p: string, body: string | Uint8Array | undefined, headers: Record<string, string> = auth(ADMIN)) =>
    fetch(`${base}${p}`, { method: 'POST', body, headers });
  const metric = async (line: string) =>
    (await (await fetch(`${base}/metrics`)).text()).split('\n').find((l) => l.startsWith(line));

  it('needs the read token (or the admin token) for reads, and answers 401 in the error shape', async () => {
    const denied = await get('/v1/bundles/bank', {});
    expect(denied.status).toBe(401);
    expect(denied.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');
    expect(await denied.json()).toEqual({ error: 'unauthorized', detail: 'a read token is required' });
    expect((await get('/v1/bundles/bank', auth('wrong-token-0123456789abcdef'))).status).toBe(401);
    expect((await get('/v1/bundles/bank')).status).toBe(200);
    expect((await get('/v1/bundles/bank', auth(ADMIN))).status).toBe(200);
    // The read token cannot publish or revoke.
    expect((await post('/v1/bundles/bank/publish', undefined, auth(READ))).status).toBe(401);
    expect((await post('/v1/revocations', '{}', auth(READ))).status).toBe(401);
    // A caller's well-formed request id is kept, a malformed one replaced.
    expect((await get('/healthz', { 'x-request-id': 'req-42' })).headers.get('x-request-id')).toBe('req-42');
    expect((await get('/healthz', { 'x-request-id': 'a b' })).headers.get('x-request-id')).not.toBe('a b');
  });

  it('answers 304 to a matching If-None-Match (strong, weak or in a list)', async () => {
    const first = await get('/v1/bundles/bank');
    const etag = first.headers.get('etag')!;
    expect(etag).toBe(`"${cp.publisher.current!.version}"`);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const r = await get('/v1/bundles/bank', { ...auth(READ), 'if-none-match': inm });
      expect(r.status).toBe(304);
      expect(r.headers.get('x-authzd-revision')).toBe(String(cp.publisher.current!.revision));
    }
    expect((await get('/v1/bundles/bank', { ...auth(READ), 'if-none-match': '"0-0"' })).status).toBe(200);
  });

  it('publishes an uploaded gzip tar, and refuses other media types and broken sets', async () => {
    const before = cp.publisher.current!.revision;
    const files = examplePolicyFiles({
      'uploaded.cedar': '@id("uploaded") forbid (principal, action, resource) when { false };',
    });
    const tar = gzipSync(writeTar([...files].map(([n, t]) => [n, Buffer.from(t)] as const)));
    const published = await post('/v1/bundles/bank/publish', tar, {
      ...auth(ADMIN),
      'content-type': 'application/gzip',
    });
    expect(published.status).toBe(200);
    // Revisions follow the clock (at least the Unix time in seconds): above the last, by how much depends on time.
    const upload = (await published.json()) as { revision: number };
    expect(upload).toMatchObject({ result: 'published', name: 'bank' });
    expect(upload.revision).toBeGreaterThan(before);
    expect(cp.publisher.current!.files.has('uploaded.cedar')).toBe(true);

    const wrongType = await post('/v1/bundles/bank/publish', tar, {
      ...auth(ADMIN),
      'content-type': 'application/x-tar',
    });
    expect(wrongType.status).toBe(415);
    const broken = gzipSync(
      writeTar([...examplePolicyFiles({ 'accounts.cedar': 'permit (' })].map(([n, t]) => [n, Buffer.from(t)] as const)),
    );
    const rejected = await post('/v1/bundles/bank/publish', broken, {
      ...auth(ADMIN),
      'content-type': 'application/gzip',
    });
    expect(rejected.status).toBe(422);
    expect(await rejected.json()).toMatchObject({
      error: 'policy_rejected',
      problems: [expect.stringContaining('accounts.cedar')],
    });
    const garbage = await post('/v1/bundles/bank/publish', 'not a tar', {
      ...auth(ADMIN),
      'content-type': 'application/gzip',
    });
    expect(garbage.status).toBe(400);
    expect(cp.publisher.current!.revision).toBe(upload.revision);

    // An empty POST goes back to the directory, which differs from the upload.
    const directory = (await (await post('/v1/bundles/bank/publish', undefined)).json()) as { revision: number };
    expect(directory).toMatchObject({ result: 'published' });
    expect(directory.revision).toBeGreaterThan(upload.revision);
    expect(await (await post('/v1/bundles/bank/publish', undefined)).json()).toMatchObject({
      result: 'unchanged',
      revision: directory.revision,
    });
    const history = (await (await get('/v1/bundles/bank/revisions')).json()) as {
      current: number;
      revisions: { revision: number }[];
    };
    expect(history.current).toBe(directory.revision);
    expect(history.revisions.map((r) => r.revision)).toEqual([directory.revision, upload.revision, before]);
  });

  it('forgets a long poll whose client went away', async () => {
    const etag = cp.publisher.current!.etag;
    const abort = new AbortController();
    const pending = get('/v1/bundles/bank?wait=30', { ...auth(READ), 'if-none-match': etag }, abort.signal).catch(
      (err: Error) => err.name,
    );
    await expect
      .poll(() => metric('authzd_cp_long_poll_waiters{feed="bundle"}'))
      .toBe('authzd_cp_long_poll_waiters{feed="bundle"} 1');
    abort.abort();
    expect(await pending).toBe('AbortError');
    await expect
      .poll(() => metric('authzd_cp_long_poll_waiters{feed="bundle"}'))
      .toBe('authzd_cp_long_poll_waiters{feed="bundle"} 0');
  });

  it('wakes a revocation long poll with the new entry', async () => {
    // A cursor of 0 always gets a reset; start from a real one.
    const { seq } = (await (
      await post('/v1/revocations', JSON.stringify({ kind: 'jti', value: 'first', ttlSeconds: 600 }))
    ).json()) as { seq: number };
    const waiting = get(`/v1/revocations?since=${seq}&wait=30`);
    await expect
      .poll(() => metric('authzd_cp_long_poll_waiters{feed="revocations"}'))
      .toBe('authzd_cp_long_poll_waiters{feed="revocations"} 1');
    const created = await post('/v1/revocations', JSON.stringify({ kind: 'sid', value: 'session-9', ttlSeconds: 600 }));
    expect(created.status).toBe(201);
    const entry = await created.json();
    expect(entry).toMatchObject({ seq: seq + 1, kind: 'sid', value: 'session-9' });
    const page = await (await waiting).json();
    expect(page).toEqual({ feed: cp.revocations.feed, seq: seq + 1, reset: false, entries: [entry] });
  });

  it('tells a client of another feed (a wiped or replaced store) to reset, at once and with the whole live set', async () => {
    const { seq } = (await (
      await post('/v1/revocations', JSON.stringify({ kind: 'jti', value: 'other-feed', ttlSeconds: 600 }))
    ).json()) as { seq: number };
    const own = (await (await get(`/v1/revocations?since=${seq}&feed=${cp.revocations.feed}`)).json()) as {
      reset: boolean;
      entries: unknown[];
    };
    expect(own).toMatchObject({ reset: false, entries: [] });
    // Same cursor, another feed id, asked to wait: answered now, as a reset listing every live entry.
    const started = Date.now();
    const other = (await (await get(`/v1/revocations?since=${seq}&feed=some-earlier-feed&wait=30`)).json()) as {
      feed: string;
      reset: boolean;
      entries: { value: string }[];
    };
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(other).toMatchObject({ feed: cp.revocations.feed, reset: true, seq });
    expect(other.entries.map((e) => e.value)).toContain('other-feed');
    expect((await get('/v1/revocations?since=1&feed=not%20an%20id')).status).toBe(400);
  });

  it('answers malformed requests with a precise 400 and bounds bodies', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [get('/v1/bundles/bank?wait=soon'), 400, 'wait: expected whole seconds, 0 to 60'],
      [get('/v1/revocations?since=-1'), 400, 'since: expected a non-negative integer sequence number'],
      [post('/v1/revocations', '{"kind":'), 400, 'body: not valid JSON'],
      [
        post('/v1/revocations', JSON.stringify({ kind: 'jti', value: 'x', expiresAt: 1 })),
        400,
        'expiresAt: is in the past',
      ],
      [
        post('/v1/revocations', JSON.stringify({ kind: 'jti', value: 'x'.repeat(20_000), ttlSeconds: 5 })),
        413,
        'the body exceeds 16384 bytes',
      ],
      [post('/v1/authorize', JSON.stringify({ principal: {} }), auth(READ)), 400, 'principal.uid: expected an object'],
      [get('/v1/bundles/other'), 404, 'no bundle of that name'],
      [get('/v2/nothing'), 404, 'no such endpoint'],
      [
        fetch(`${base}/v1/bundles/bank`, { method: 'DELETE', headers: auth(ADMIN) }),
        405,
        '/v1/bundles/bank allows GET, HEAD',
      ],
    ];
    for (const [response, status, detail] of cases) {
      const r = await response;
      const body = (await r.json()) as { error: string; detail: string };
      expect([r.status, body.detail]).toEqual([status, detail]);
      expect(API_ERROR_CODES).toContain(body.error);
    }
  });

  it('decides over HTTP with the served policy set', async () => {
    const body = {
      principal: { uid: { type: 'Bank::User', id: 'alice' }, attrs: { tenant: 'acme' } },
      action: { type: 'Bank::Action', id: 'readAccount' },
      resource: { type: 'Bank::Account', id: 'acc-1001' },
      context: {
        request: {
          method: 'GET',
          path: '/accounts/acc-1001',
          host: 'bank',
          scheme: 'https',
          routeId: 'get-account',
          time: 1_800_000_000,
        },
        token: { iss: 'https://idp', sub: 'alice', exp: 1_800_003_600, scope: [], amr: [] },
      },
    };
    const r = await post('/v1/authorize', JSON.stringify(body), auth(READ));
    expect(await r.json()).toMatchObject({
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['account-owner-read'],
      policyVersion: cp.publisher.current!.version,
    });
  });
});
