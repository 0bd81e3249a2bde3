import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished } from 'vitest';

import { createAuditLog } from '../../../src/audit/audit-log.js';
import {
  DecisionShipper,
  type ShipConfig,
  type ShipDrop,
  type ShipFailure,
  startDecisionShipper,
} from '../../../src/audit/decision-shipper.js';
import { ConfigSchema } from '../../../src/config/config-schema.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';
import { createMetrics } from '../../../src/telemetry/metrics.js';

const URL_ = 'http://127.0.0.1:1/v1/decisions';
const TOKEN = 'ingest-token-0123456789abcdef';

const shipConfig = (ship: Record<string, unknown> = {}): ShipConfig =>
  ConfigSchema.parse({
    audit: { ship: { url: URL_, tokenEnv: 'AUTHZD_TEST_SHIP_TOKEN', flushIntervalMs: 60_000, ...ship } },
  }).audit.ship!;

interface Sent {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** A fetch that answers from a script (a status, an Error to throw, or 'hang') and records what it was sent. */
function scriptedFetch(script: (n: number) => number | Error | 'hang') {
  const sent: Sent[] = [];
  const fetchStub = (async (_url: string, init: RequestInit) => {
    sent.push({ body: init.body as string, headers: init.headers as Record<string, string> });
    const step = script(sent.length);
    if (step === 'hang') {
      return new Promise((_resolve, reject) =>
        init.signal!.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        ),
      );
    }
    if (step instanceof Error) throw step;
    return new Response(JSON.stringify(step < 300 ? { accepted: 1 } : { error: 'x', detail: `status ${step}` }), {
      status: step,
    });
  }) as unknown as typeof fetch;
  return { fetch: fetchStub, sent };
}

function shipper(ship: Record<string, unknown>, script: (n: number) => number | Error | 'hang') {
  const { fetch, sent } = scriptedFetch(script);
  const shipped: number[] = [];
  const dropped: [number, ShipDrop][] = [];
  const failures: ShipFailure[] = [];
  const sleeps: number[] = [];
  const s = new DecisionShipper({
    config: shipConfig(ship),
    token: TOKEN,
    logger: createLogger('silent'),
    fetch,
    // Backoff sleeps are recorded and skipped; they still end early on the shutdown deadline.
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 1,
    onShipped: (n) => shipped.push(n),
    onDropped: (n, reason) => dropped.push([n, reason]),
    onFailure: (reason) => failures.push(reason),
  });
  return { s, sent, shipped, dropped, failures, sleeps };
}

const line = (i: number) => `{"type":"authz.decision","decision_id":"d-${i}"}\n`;
const until = async (probe: () => boolean) => {
  for (let i = 0; i < 500 && !probe(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(probe()).toBe(true);
};

describe('DecisionShipper', () => {
  it('sends full batches as NDJSON with the bearer token, and the rest on close', async () => {
    const t = shipper({ batchSize: 3 }, () => 200);
    t.s.start();
    for (let i = 0; i < 7; i++) t.s.offer(line(i));
    await until(() => t.sent.length === 2);
    expect(t.sent[0].body).toBe(line(0) + line(1) + line(2));
    expect(t.sent[1].body).toBe(line(3) + line(4) + line(5));
    expect(t.sent[0].headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/x-ndjson',
    });
    await t.s.close();
    expect(t.sent.map((s) => s.body).join('')).toBe([0, 1, 2, 3, 4, 5, 6].map(line).join(''));
    expect(t.shipped).toEqual([3, 3, 1]);
    expect(t.dropped).toEqual([]);
  });

  it('sends a partial batch once the flush interval has passed', async () => {
    const t = shipper({ batchSize: 100, flushIntervalMs: 20 }, () => 200);
    t.s.start();
    t.s.offer(line(1));
    t.s.offer(line(2));
    await until(() => t.sent.length === 1);
    expect(t.sent[0].body).toBe(line(1) + line(2));
    await t.s.close();
  });

  it('drops and counts new events when the buffer is full, in flight included', async () => {
    const t = shipper({ batchSize: 2, maxBufferEvents: 5, shutdownTimeoutMs: 0 }, () => 'hang');
    t.s.start();
    for (let i = 0; i < 4; i++) t.s.offer(line(i));
    await until(() => t.sent.length === 1);
    // Two in flight, two queued: room for one more.
    for (let i = 4; i < 10; i++) t.s.offer(line(i));
    expect(t.s.pending).toBe(5);
    expect(t.dropped).toEqual([1, 1, 1, 1, 1].map((n) => [n, 'buffer_full']));
    await t.s.close();
    // At the deadline the batch in flight and the queue are given up, and counted.
    expect(t.dropped.filter(([, r]) => r === 'shutdown').reduce((a, [n]) => a + n, 0)).toBe(5);
    t.s.offer(line(99));
    expect(t.dropped.at(-1)).toEqual([1, 'shutdown']);
  });

  it('retries a failed batch with jittered exponential backoff until it is accepted', async () => {
    const t = shipper({ batchSize: 2, minBackoffMs: 100, maxBackoffMs: 250 }, (n) =>
      n === 1 ? new TypeError('fetch failed') : n === 2 ? 503 : n === 3 ? 401 : n === 4 ? 429 : 200,
    );
    t.s.start();
    t.s.offer(line(1));
    t.s.offer(line(2));
    await until(() => t.shipped.length === 1);
    expect(t.failures).toEqual(['network', 'http_status', 'unauthorized', 'http_status']);
    // backoffDelay with random() = 1: the ceiling, doubling from minBackoffMs, capped at maxBackoffMs.
    expect(t.sleeps).toEqual([100, 200, 250, 250]);
    expect(new Set(t.sent.map((s) => s.body))).toEqual(new Set([line(1) + line(2)]));
    expect(t.dropped).toEqual([]);
    await t.s.close();
  });

  it('drops a batch the control plane refuses as malformed instead of retrying it', async () => {
    const t = shipper({ batchSize: 1 }, (n) => (n === 1 ? 400 : 200));
    t.s.start();
    t.s.offer(line(1));
    t.s.offer(line(2));
    await t.s.close();
    expect(t.sent.map((s) => s.body)).toEqual([line(1), line(2)]);
    expect(t.failures).toEqual(['rejected']);
    expect(t.dropped).toEqual([[1, 'rejected']]);
    expect(t.shipped).toEqual([1]);
    expect(t.sleeps).toEqual([]);
  });

  it('keeps retrying on close until the deadline, then counts the rest as dropped', async () => {
    const dropped: [number, ShipDrop][] = [];
    const { fetch, sent } = scriptedFetch(() => 503);
    // The real (abortable) sleep here, so the deadline is what ends the retries.
    const s = new DecisionShipper({
      config: shipConfig({ batchSize: 2, shutdownTimeoutMs: 30, minBackoffMs: 10, maxBackoffMs: 100 }),
      token: TOKEN,
      logger: createLogger('silent'),
      fetch,
      onDropped: (n, reason) => dropped.push([n, reason]),
    });
    for (let i = 0; i < 5; i++) s.offer(line(i));
    await s.close();
    expect(sent.length).toBeGreaterThan(1);
    expect(dropped.reduce((a, [n]) => a + n, 0)).toBe(5);
    expect(new Set(dropped.map(([, r]) => r))).toEqual(new Set(['shutdown']));
    expect(s.pending).toBe(0);
  });

  it('costs the Check path a queue push: the audit log hands lines over and nothing is awaited', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const audit = createAuditLog(ConfigSchema.parse({}).audit, { stream: { write: () => {} } });
    const { fetch, sent } = scriptedFetch(() => 'hang');
    process.env.AUTHZD_TEST_SHIP_TOKEN = TOKEN;
    onTestFinished(() => void delete process.env.AUTHZD_TEST_SHIP_TOKEN);
    const config = ConfigSchema.parse({
      audit: {
        ship: {
          url: URL_,
          tokenEnv: 'AUTHZD_TEST_SHIP_TOKEN',
          batchSize: 10,
          maxBufferEvents: 20,
          shutdownTimeoutMs: 0,
        },
      },
    }).audit;
    const shipping = startDecisionShipper(config, audit, { metrics, logger: createLogger('silent'), fetch })!;
    const outcome = {
      kind: 'error',
      failure: { id: 'd', reason: 'jwks_unavailable', policyVersion: 'v1', detail: 'x' },
    } as const;
    // recordOutcome calls audit.record synchronously; with the control plane hanging it must still return
    // at once, and the request is made on a later turn of the event loop, never inside record().
    for (let i = 0; i < 25; i++) expect(audit.record(outcome, 0.001)).toBeUndefined();
    expect(sent).toHaveLength(0);
    await until(() => sent.length === 1);
    expect(sent[0].body.split('\n').filter((l) => l !== '')).toHaveLength(10);
    await shipping.close();
    const text = await registry.metrics();
    expect(text).toContain('authzd_decisions_ship_dropped_total{reason="buffer_full"} 5');
    expect(text).toContain('authzd_decisions_ship_dropped_total{reason="shutdown"} 20');
    expect(text).toContain('authzd_decisions_ship_failures_total{reason="timeout"} 1');
  });

  it('refuses a shipping configuration without a token, or with a batch above the buffer', () => {
    const problems = (ship: Record<string, unknown>) =>
      ConfigSchema.safeParse({ audit: { ship } }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ url: URL_ })).toEqual([
      'audit.ship: exactly one of tokenFile and tokenEnv is required: the control plane authenticates every batch',
    ]);
    expect(problems({ url: URL_, tokenEnv: 'X', batchSize: 100, maxBufferEvents: 10 })).toEqual([
      'audit.ship: batchSize must not exceed maxBufferEvents',
    ]);
    expect(problems({ url: 'ftp://x', tokenEnv: 'X' })?.[0]).toMatch(/^audit\.ship\.url/);
    expect(ConfigSchema.parse({}).audit.includeInputs).toBe(true);
    expect(ConfigSchema.parse({}).audit.ship).toBeUndefined();
  });
});
