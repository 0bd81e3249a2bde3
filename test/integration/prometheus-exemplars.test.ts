// Exemplars on a real Prometheus scrape: a sidecar with tracing on (spans to the real OTLP receiver of
// test/tools/otlp-receiver), Debian's Prometheus (installed by npm test first) scraping its admin listener
// with exemplar storage on. Prometheus asks for OpenMetrics, gets it, and stores the trace ids of the
// latency histogram's exemplars; each one names a trace whose Check span reached the collector, which is the
// jump Grafana makes from a latency panel to the trace.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { freePort } from '../helpers/free-port.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { ROOT } from '../helpers/spawn-cli.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

let issuer: TestIssuer;
let receiver: OtlpReceiver;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let promBase: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  issuer = await createTestIssuer();
  sidecar = await startTestAuthzd(
    issuer,
    { tracing: { enabled: true, scheduleDelayMs: 20 } },
    { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.httpUrl } },
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-exemplars-'));
  const port = await freePort();
  promBase = `http://127.0.0.1:${port}`;
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s' },
    scrape_configs: [{ job_name: 'authzd', static_configs: [{ targets: [`127.0.0.1:${sidecar.app.adminPort}`] }] }],
  };
  writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config));
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr!.on('data', (chunk: Buffer) => void (prometheusLog += chunk.toString()));
  await until(
    'prometheus to be ready',
    async () => ((await fetch(`${promBase}/-/ready`)).ok ? true : undefined),
    30_000,
  );
});
afterAll(async () => {
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await sidecar?.stop();
  await receiver?.stop();
});

interface ExemplarAnswer {
  status: string;
  data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];
}

it('Prometheus scrapes OpenMetrics and stores the trace id of each Check as an exemplar of its latency bucket', async () => {
  const token = await issuer.sign({ sub: 'alice' });
  const traceIds = new Set<string>();
  // Calls keep coming while Prometheus scrapes: each scrape sees new exemplars.
  const deadline = Date.now() + 30_000;
  let stored: ExemplarAnswer['data'] = [];
  while (Date.now() < deadline) {
    const traceId = [...crypto.getRandomValues(new Uint8Array(16))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    traceIds.add(traceId);
    await sidecar.client.check(
      httpCheckRequest({
        path: '/accounts/acc-1001',
        token,
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      }),
    );
    const now = Date.now() / 1000;
    const res = (await (
      await fetch(
        `${promBase}/api/v1/query_exemplars?query=${encodeURIComponent('authzd_check_duration_seconds_bucket')}&start=${now - 120}&end=${now + 1}`,
      )
    ).json()) as ExemplarAnswer;
    expect(res.status).toBe('success');
    stored = res.data;
    if (stored.some((s) => s.exemplars.length > 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const exemplars = stored.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
  expect(exemplars.length, `no exemplar stored; prometheus log:\n${prometheusLog.slice(-2000)}`).toBeGreaterThan(0);
  for (const e of exemplars) {
    expect(e.series.__name__).toBe('authzd_check_duration_seconds_bucket');
    expect(e.series).toMatchObject({ decision: 'allow', route: 'get-account' });
    expect(traceIds.has(e.labels.trace_id!)).toBe(true);
    expect(e.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(Number(e.value)).toBeGreaterThan(0);
  }
  // The exemplar leads to a trace the collector has: its Check span, with the exemplar's span id.
  const first = exemplars[0]!;
  const span = await until("the exemplar's span at the collector", () =>
    receiver.spans.find((s) => s.traceId === first.labels.trace_id && s.spanId === first.labels.span_id),
  );
  expect(span.name).toBe('envoy.service.auth.v3.Authorization/Check');
  // Only OpenMetrics carries exemplars, so the scrape was OpenMetrics; and it parsed without error.
  const targets = (await (await fetch(`${promBase}/api/v1/targets`)).json()) as {
    data: { activeTargets: { health: string; lastError: string }[] };
  };
  expect(targets.data.activeTargets[0]).toMatchObject({ health: 'up', lastError: '' });
}, 60_000);

it("the dashboard's latency panel asks for exemplars, and its queries find them", async () => {
  interface Panel {
    title: string;
    targets?: { expr: string; exemplar?: boolean }[];
    panels?: Panel[];
  }
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'grafana', 'authzd.json'), 'utf8')) as {
    panels: Panel[];
  };
  const all = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...all(p.panels ?? [])]);
  const latency = all(dashboard.panels).find((p) => p.title.startsWith('Check latency'))!;
  expect(latency.targets!.length).toBeGreaterThan(0);
  const now = Date.now() / 1000;
  for (const target of latency.targets!) {
    expect(target.exemplar).toBe(true);
    // What Grafana sends to Prometheus for the panel's exemplars: its query, variables filled in.
    const expr = target.expr
      .replaceAll('$namespace', '.*')
      .replaceAll('$pod', '.*')
      .replaceAll('$route', '.*')
      .replaceAll('$__rate_interval', '1m');
    const res = (await (
      await fetch(
        `${promBase}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${now - 120}&end=${now + 1}`,
      )
    ).json()) as ExemplarAnswer;
    expect(res.status).toBe('success');
    expect(res.data.flatMap((s) => s.exemplars).length).toBeGreaterThan(0);
  }
});
