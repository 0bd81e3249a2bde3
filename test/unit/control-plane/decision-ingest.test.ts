// POST /v1/decisions in-process against a real listener on 127.0.0.1, on both stores: authentication,
// validation, appending to the day's file or partition, and retention. The shipping sidecar end to end is
// test/integration/decision-shipping.test.ts; PostgreSQL partitions: store/postgres/postgres-store.test.ts.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../../src/bundle/bundle-keys.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { DEFAULT_TIMING, resolveControlPlaneOptions } from '../../../src/control-plane/control-plane-options.js';
import { DECISION_BATCH_LIMITS, parseDecisionBatch } from '../../../src/control-plane/parse-decision-batch.js';
import { type ControlPlane, startControlPlane } from '../../../src/control-plane/start-control-plane.js';
import { utcDay } from '../../../src/control-plane/store/decision-log.js';
import { DirectoryDecisionLog } from '../../../src/control-plane/store/directory/directory-decision-log.js';
import type { StoreSettings } from '../../../src/control-plane/store/open-control-plane-store.js';
import { partitionOf } from '../../../src/control-plane/store/postgres/postgres-decision-log.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';
import { freshStoreSettings, openTestStore, STORE_KINDS } from '../../helpers/control-plane-stores.js';
import { EXAMPLE_POLICIES } from '../../helpers/policy-files.js';
import { usePostgresCluster } from '../../helpers/postgres-cluster.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const INGEST = 'ingest-token-0123456789abcdef';
const DAY = 86_400_000;
const cluster = usePostgresCluster();

const event = (id: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    log: 'audit',
    time: '2026-11-28T10:00:00.000Z',
    type: 'authz.decision',
    decision_id: id,
    decision: 'allow',
    reason: 'policy_allowed',
    policies: ['teller-read'],
    source: 'engine',
    route: 'get-account',
    input: {
      principal: {
        uid: { type: 'Bank::User', id: 'bob' },
        attrs: { tenant: 'acme' },
        parents: [{ type: 'Bank::Role', id: 'teller' }],
      },
      action: { type: 'Bank::Action', id: 'readAccount' },
      resource: { type: 'Bank::Account', id: 'acc-1001' },
      context: { request: { method: 'GET' } },
    },
    ...over,
  });

describe.each(STORE_KINDS)('POST /v1/decisions on the %s store', (kind) => {
  let cp: ControlPlane;
  let base: string;
  let settings: StoreSettings;
  const yesterday = utcDay(Date.now() - DAY);

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-decisions-'));
    cpSync(EXAMPLE_POLICIES, path.join(dir, 'policies'), { recursive: true });
    settings = await freshStoreSettings(kind, cluster, 'decisions');
    // Days from earlier runs: one within the retention of 2 days, one past it, and (in the directory) a
    // file that is not a day's.
    if (settings.kind === 'directory') {
      const decisionsDir = path.join(settings.directory, 'decisions');
      mkdirSync(decisionsDir, { recursive: true });
      writeFileSync(path.join(decisionsDir, `${yesterday}.ndjson`), `${event('yesterday')}\n`);
      writeFileSync(path.join(decisionsDir, `${utcDay(Date.now() - 5 * DAY)}.ndjson`), `${event('old')}\n`);
      writeFileSync(path.join(decisionsDir, 'notes.txt'), 'kept\n');
    } else {
      await (await openTestStore(settings)).close();
      for (const [ms, id] of [
        [Date.now() - DAY, 'yesterday'],
        [Date.now() - 5 * DAY, 'old'],
      ] as const) {
        const day = utcDay(ms);
        const next = utcDay(ms + DAY);
        await cluster().query(
          settings.postgres.database,
          `CREATE TABLE ${partitionOf(day)} PARTITION OF authzd_decisions FOR VALUES FROM ('${day}') TO ('${next}')`,
        );
        await cluster().query(settings.postgres.database, 'INSERT INTO authzd_decisions (day, event) VALUES ($1, $2)', [
          day,
          event(id),
        ]);
      }
    }
    const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'EdDSA', kid: 'ingest-test' });
    cp = await startControlPlane(
      {
        policies: path.join(dir, 'policies'),
        signingKeyFile: keys.privateKeyFile,
        kid: keys.kid,
        address: '127.0.0.1:0',
        store: settings,
        bundleName: 'bank',
        scope: 'bank',
        adminToken: ADMIN,
        readToken: READ,
        ingestToken: INGEST,
        history: 5,
        decisionRetentionDays: 2,
        timing: DEFAULT_TIMING,
      },
      { logger: createLogger('silent') },
    );
    base = `http://127.0.0.1:${cp.port}`;
  });

  afterAll(async () => {
    await cp?.shutdown();
  });

  const post = (body: string | Uint8Array, token: string | null = INGEST, type = 'application/x-ndjson') =>
    fetch(`${base}/v1/decisions`, {
      method: 'POST',
      body,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), 'content-type': type },
    });
  /** What the store holds for today, as NDJSON. */
  const stored = async (): Promise<string> => {
    if (settings.kind === 'directory') {
      const today = path.join(settings.directory, 'decisions', `${utcDay(Date.now())}.ndjson`);
      return existsSync(today) ? readFileSync(today, 'utf8') : '';
    }
    const rows = await cluster().query<{ event: string }>(
      settings.postgres.database,
      'SELECT event FROM authzd_decisions WHERE day = $1 ORDER BY id',
      [utcDay(Date.now())],
    );
    return rows.map((r) => `${r.event}\n`).join('');
  };
  /** Where a batch of today lands, as the answer names it. */
  const todays = () =>
    settings.kind === 'directory' ? `${utcDay(Date.now())}.ndjson` : partitionOf(utcDay(Date.now()));
  const metric = async (name: string) =>
    (await (await fetch(`${base}/metrics`)).text())
      .split('\n')
      .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));

  it('needs the ingest or the admin token; the read token is not enough', async () => {
    for (const token of [null, READ, 'wrong-token-0123456789abcdef']) {
      const res = await post(`${event('x')}\n`, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized', detail: 'the ingest token is required' });
    }
    expect((await post(`${event('by-ingest')}\n`, INGEST)).status).toBe(200);
    expect((await post(`${event('by-admin')}\n`, ADMIN)).status).toBe(200);
    expect((await fetch(`${base}/v1/decisions`, { headers: { authorization: `Bearer ${INGEST}` } })).status).toBe(405);
  });

  it('appends a batch, as sent, to the file (or partition) of the current UTC day', async () => {
    const before = await stored();
    const lines = [
      event('a-1'),
      event('a-2', { decision: 'deny', reason: 'route_not_found', source: 'routing', input: undefined }),
      event('a-3'),
    ];
    const res = await post(`${lines.join('\n')}\r\n\n`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 3, file: todays() });
    expect(await stored()).toBe(`${before}${lines.join('\n')}\n`);
    expect(await metric('authzd_cp_decisions_appended_total')).toMatch(/ ([5-9]|\d\d+)$/);
  });

  it('refuses garbage with 400 naming the line and field, and appends nothing of that batch', async () => {
    const before = await stored();
    const cases: [string, string][] = [
      [`${event('ok')}\nnot json\n`, 'line 2: not valid JSON'],
      [
        `${event('ok')}\n${JSON.stringify({ msg: 'hello' })}\n`,
        'line 2: not a decision event (type: expected "authz.decision")',
      ],
      [
        `${event('x', { decision_id: '' })}\n`,
        'line 1: decision_id: expected a string of 1 to 256 printable characters',
      ],
      [`${event('x', { decision: 'maybe' })}\n`, 'line 1: decision: expected "allow", "deny" or "error"'],
      [`${event('x', { time: 'yesterday' })}\n`, 'line 1: time: expected an ISO 8601 timestamp'],
      [
        `${event('x', { policies: 'teller-read' })}\n`,
        'line 1: policies: expected an array of at most 1000 policy ids',
      ],
      [
        `${event('x', { input: { principal: { uid: { type: 'not a type', id: 'a' } } } })}\n`,
        'line 1: input.principal.uid.type: expected a Cedar entity type name like "Namespace::Type"',
      ],
      [
        `${event('x', { input: { extra: 1 } })}\n`,
        'line 1: input.extra: unknown field (expected principal, action, resource, context)',
      ],
      ['\n\n', 'body: no decision events (NDJSON, one event a line)'],
      [`${event('ok')}\n[1, 2]\n`, 'line 2: not a decision event (not a JSON object)'],
    ];
    for (const [body, detail] of cases) {
      const res = await post(body);
      expect(res.status, detail).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_request', detail });
    }
    const invalidUtf8 = await post(new Uint8Array([0x7b, 0xff, 0x7d, 0x0a]));
    expect(await invalidUtf8.json()).toEqual({ error: 'invalid_request', detail: 'body: not valid UTF-8' });
    expect(await stored()).toBe(before);
    expect(await metric('authzd_cp_decision_batches_total{result="invalid"}')).toMatch(/ 11$/);
  });

  it('refuses other media types and bodies over the limit', async () => {
    const wrongType = await post(`${event('x')}\n`, INGEST, 'application/json');
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: string }).error).toBe('unsupported_media_type');
    const huge = await post(new Uint8Array(DECISION_BATCH_LIMITS.maxBytes + 1).fill(0x20));
    expect(huge.status).toBe(413);
  });

  it('keeps every line whole when many batches arrive at once', async () => {
    const before = (await stored()).split('\n').filter((l) => l !== '').length;
    const batches = Array.from(
      { length: 20 },
      (_, b) => Array.from({ length: 50 }, (_, i) => event(`c-${b}-${i}`)).join('\n') + '\n',
    );
    const answers = await Promise.all(batches.map((body) => post(body)));
    expect(answers.map((r) => r.status)).toEqual(batches.map(() => 200));
    const lines = (await stored()).split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(before + 1000);
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { decision_id: string }).decision_id));
    for (let b = 0; b < 20; b++) for (let i = 0; i < 50; i++) expect(ids.has(`c-${b}-${i}`)).toBe(true);
  });

  it('deleted the days older than the retention at start-up, and nothing else', async () => {
    const today = utcDay(Date.now());
    if (settings.kind === 'directory') {
      const names = readdirSync(path.join(settings.directory, 'decisions')).sort();
      expect(names).toEqual([`${yesterday}.ndjson`, `${today}.ndjson`, 'notes.txt'].sort());
    } else {
      const rows = await cluster().query<{ name: string }>(
        settings.postgres.database,
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'authzd_decisions'::regclass ORDER BY 1`,
      );
      expect(rows.map((r) => r.name)).toEqual([partitionOf(yesterday), partitionOf(today)]);
    }
    expect(await metric('authzd_cp_decision_files_removed_total')).toBe('authzd_cp_decision_files_removed_total 1');
  });
});

describe('DirectoryDecisionLog', () => {
  it('keeps the last N UTC days, today included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-decisions-'));
    let now = Date.parse('2026-03-10T23:59:00Z');
    const store = await DirectoryDecisionLog.open({ dir, retentionDays: 3, now: () => now });
    for (const day of ['2026-03-01', '2026-03-07', '2026-03-08', '2026-03-09'])
      writeFileSync(path.join(dir, `${day}.ndjson`), '{}\n');
    expect(await store.append('{"a":1}\n')).toBe('2026-03-10.ndjson');
    expect(await store.removeExpired()).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['2026-03-08.ndjson', '2026-03-09.ndjson', '2026-03-10.ndjson']);
    // Past midnight UTC, appends go to the new day's file and the oldest day expires.
    now += 2 * 60_000;
    expect(await store.append('{"b":2}\n')).toBe('2026-03-11.ndjson');
    expect(await store.removeExpired()).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['2026-03-09.ndjson', '2026-03-10.ndjson', '2026-03-11.ndjson']);
    expect(readFileSync(path.join(dir, '2026-03-10.ndjson'), 'utf8')).toBe('{"a":1}\n');
  });

  it('refuses a directory it cannot write', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-decisions-')), 'a-file');
    writeFileSync(file, '');
    await expect(DirectoryDecisionLog.open({ dir: path.join(file, 'decisions'), retentionDays: 1 })).rejects.toThrow(
      /not usable for decisions/,
    );
  });

  it('parses a batch into whole lines, dropping blank lines and CRs', () => {
    expect(parseDecisionBatch(new TextEncoder().encode(`${event('p-1')}\r\n\n${event('p-2')}`))).toEqual({
      ok: true,
      events: 2,
      text: `${event('p-1')}\n${event('p-2')}\n`,
    });
  });
});

describe('control-plane flags for decisions', () => {
  it('reads the ingest token like the others, defaults the retention to 30 days and refuses bad values', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-ingest-flags-'));
    writeFileSync(path.join(dir, 'ingest'), `${INGEST}\n`);
    const flags = { policies: dir, 'signing-key': 'k.pem', kid: 'k1', addr: '127.0.0.1:0', data: dir };
    const env = { AUTHZD_CP_ADMIN_TOKEN: ADMIN };
    expect(await resolveControlPlaneOptions(flags, env)).toMatchObject({
      ingestToken: undefined,
      decisionRetentionDays: 30,
    });
    expect(
      await resolveControlPlaneOptions(
        { ...flags, 'ingest-token-file': path.join(dir, 'ingest'), 'decision-retention-days': '7' },
        env,
      ),
    ).toMatchObject({
      ingestToken: INGEST,
      decisionRetentionDays: 7,
    });
    expect(await resolveControlPlaneOptions(flags, { ...env, AUTHZD_CP_INGEST_TOKEN: INGEST })).toMatchObject({
      ingestToken: INGEST,
    });
    const refused = await resolveControlPlaneOptions(
      { ...flags, 'decision-retention-days': '0' },
      { ...env, AUTHZD_CP_INGEST_TOKEN: 'short' },
    ).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([
      '--decision-retention-days "0": a whole number of days from 1 to 3650',
      'AUTHZD_CP_INGEST_TOKEN: the ingest token must be at least 16 characters',
    ]);
  });
});
