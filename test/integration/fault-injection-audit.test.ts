// Fault injection on the audit log's destination: `authzd serve` (a real process) writes its decision log
// to a FIFO that nobody reads at first, then to a reader that stops reading, goes away, and comes back.
// Checks must be answered throughout (the log never holds the hot path), the backlog must stay within
// audit.bufferBytes (what is not written is dropped and counted), the process must not crash, and once a
// reader is there again, events flow again.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { metricSum } from '../helpers/fault-server.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const BUFFER_BYTES = 8_192;

let dir: string;
let fifo: string;
let issuer: TestIssuer;
let sidecar: RunningCli<{ grpcPort: number; adminPort: number }>;
/** A second sidecar whose audit log is /dev/full: every write fails with ENOSPC. */
let full: RunningCli<{ grpcPort: number; adminPort: number }>;
let clients: ReturnType<typeof envoyAuthorizationClient>[];
let token: string;
const seen: Record<string, unknown> = {};

/**
 * A reader of the FIFO in its own process (`cat`, as a log shipper would be): SIGSTOP makes it stop reading
 * with the pipe still open, SIGKILL makes it go away. Keeps every complete line it passed on (a line cut by
 * a broken pipe is skipped).
 */
function openReader() {
  const child = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const events: { decision_id: string }[] = [];
  let partial = '';
  let bytes = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        events.push(JSON.parse(line));
      } catch {
        /* the tail of a line whose head went to a reader that is gone */
      }
    }
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    events,
    bytes: () => bytes,
    ids: () => new Set(events.map((e) => e.decision_id)),
    stop: () => child.kill('SIGSTOP'),
    async kill() {
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/** n allowed checks over four connections, `lanes` at a time; returns the decision ids of the answers. */
async function drive(n: number, lanes = 8): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (next < n) {
        next++;
        const res = await clients[lane % clients.length].check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
        expect(res.http_response).toBe('ok_response');
        ids.push(res.ok_response.headers.find((h: any) => h.header.key === 'x-authz-decision-id').header.value);
      }
    }),
  );
  return ids;
}

async function metrics() {
  const text = await (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/metrics`)).text();
  return {
    events: metricSum(text, 'authzd_audit_events_total'),
    dropped: metricSum(text, 'authzd_audit_events_dropped_total'),
    rss: metricSum(text, 'process_resident_memory_bytes'),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-fault-audit-'));
  fifo = path.join(dir, 'audit.fifo');
  execFileSync('mkfifo', [fifo]);
  issuer = await createTestIssuer();
  [sidecar, full] = await Promise.all([serveWithAuditTo(fifo), serveWithAuditTo('/dev/full')]);
  clients = Array.from({ length: 4 }, () => envoyAuthorizationClient(`127.0.0.1:${sidecar.info.grpcPort}`));
  token = await issuer.sign({ sub: 'alice' });
});

function serveWithAuditTo(destination: string) {
  const config = path.join(dir, `authzd-${path.basename(destination)}.yaml`);
  writeFileSync(
    config,
    [
      'grpc: { address: "127.0.0.1:0" }',
      'admin: { address: "127.0.0.1:0" }',
      `audit: { destination: ${JSON.stringify(destination)}, bufferBytes: ${BUFFER_BYTES} }`,
      'tokens:',
      '  issuers:',
      `    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksFile: ${JSON.stringify(issuer.jwksFile)} }`,
    ].join('\n'),
  );
  return spawnCli(['serve', '--config', config], (l) =>
    l.msg === 'authzd ready' ? { grpcPort: l.grpcPort as number, adminPort: l.adminPort as number } : undefined,
  );
}

afterAll(async () => {
  console.log(`audit faults: ${JSON.stringify(seen)}`);
  for (const c of clients ?? []) c.close();
  // A reader lets a still-blocked open or write finish, so the process can exit.
  const reader = sidecar?.child.exitCode === null ? openReader() : undefined;
  await Promise.all([sidecar?.stop(), full?.stop()]);
  await reader?.kill();
});

describe('the audit destination fails every write', () => {
  it('a full disk (/dev/full, ENOSPC): checks are answered, the error is logged, nothing crashes', async () => {
    const client = envoyAuthorizationClient(`127.0.0.1:${full.info.grpcPort}`);
    try {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }))),
      );
      expect(answers.every((a) => a.http_response === 'ok_response')).toBe(true);
      await until(
        'the write error in the log',
        () => (full.stderr().includes('"code":"ENOSPC"') ? true : undefined),
        5_000,
      );
      const text = await (await fetch(`http://127.0.0.1:${full.info.adminPort}/metrics`)).text();
      expect(metricSum(text, 'authzd_audit_events_dropped_total')).toBeGreaterThan(0);
      expect(full.child.exitCode).toBeNull();
      expect(full.stderr()).not.toContain('uncaught exception');
    } finally {
      client.close();
    }
  });
});

describe('the audit destination is blocked', () => {
  let reader: ReturnType<typeof openReader>;
  let backlog: number;

  it('a FIFO nobody reads: checks are answered, the backlog is bounded, drops are counted', async () => {
    const ids = await drive(300);
    expect(new Set(ids).size).toBe(300);
    const m = await metrics();
    expect(m.events).toBe(300);
    // An allow with its input is ~1 KB: at most bufferBytes of them wait, the rest is dropped.
    expect(m.dropped).toBeGreaterThanOrEqual(300 - BUFFER_BYTES / 500);
    backlog = m.events - m.dropped;
    seen.noReader = { checks: 300, dropped: m.dropped, held: backlog };
  });

  it('when a reader appears, the held backlog and every later event arrive', async () => {
    reader = openReader();
    await until('the backlog', () => (reader.events.length >= backlog ? true : undefined));
    expect(reader.bytes()).toBeLessThanOrEqual(BUFFER_BYTES);
    // One at a time: a burst larger than bufferBytes within one write could be dropped in part, by design.
    const before = await metrics();
    const ids = await drive(50, 1);
    const dropped = (await metrics()).dropped - before.dropped;
    await until('the new events', () =>
      ids.filter((id) => reader.ids().has(id)).length === 50 - dropped ? true : undefined,
    );
    expect(dropped).toBeLessThan(50);
    expect(reader.events.length).toBe(backlog + 50 - dropped);
    seen.readerAppeared = { backlogDelivered: backlog, laterChecks: 50, laterDropped: dropped };
  });

  it('a reader that stops reading: checks are still answered, drops are counted', async () => {
    reader.stop();
    const before = await metrics();
    // Enough to fill the reader's buffer, the kernel's pipe buffer and audit.bufferBytes several times.
    const ids = await drive(600);
    expect(ids).toHaveLength(600);
    const after = await metrics();
    expect(after.dropped - before.dropped).toBeGreaterThan(0);
    seen.stalledReader = { checks: 600, dropped: after.dropped - before.dropped };
  });

  it('a reader that goes away (EPIPE): the process keeps serving, and a new reader gets the events', async () => {
    await reader.kill();
    const ids = await drive(100);
    expect(ids).toHaveLength(100);
    expect(sidecar.child.exitCode).toBeNull();
    expect(sidecar.stderr()).not.toContain('uncaught exception');
    expect(sidecar.stderr()).toContain('audit log write failed');
    const next = openReader();
    // The failed write is retried every second (no event can be accepted while the buffer is full).
    await until(
      'the buffer to drain into the new reader',
      async () => ((await drive(1, 1)).every((id) => next.ids().has(id)) ? true : undefined),
      10_000,
    );
    const before = await metrics();
    const later = await drive(50, 1);
    const dropped = (await metrics()).dropped - before.dropped;
    await until('events at the new reader', () =>
      later.filter((id) => next.ids().has(id)).length === 50 - dropped ? true : undefined,
    );
    // A reader slowed by a loaded machine may let bufferBytes fill again (drops are by design then); what
    // matters is that events flow to the new reader and every one not counted as dropped arrives.
    expect(dropped).toBeLessThan(50);
    seen.newReader = { laterChecks: 50, laterDropped: dropped, linesReceived: next.events.length };
    reader = next;
  });

  it('SIGTERM while nobody reads: the log gives up after its close timeout, exit 0', async () => {
    await reader.kill();
    await drive(20, 1);
    const started = Date.now();
    // The /dev/full sidecar too: both wait out the same close timeout.
    const [exit, fullExit] = await Promise.all([sidecar.stop(), full.stop()]);
    seen.sigtermWithoutReaderMs = Date.now() - started;
    expect(exit).toBe(0);
    expect(fullExit).toBe(0);
    // The exit can be seen before the last bytes of stderr.
    await until('the last log line', () => (sidecar.stderr().includes('shutdown complete') ? true : undefined), 5_000);
    expect(sidecar.stderr()).toContain('"code":"ETIMEDOUT"');
  });
});
