import { describe, expect, it } from 'vitest';

import { renderLoadSection, replaceSection } from '../../../bench/lib/report-markdown.mjs';

describe('replaceSection', () => {
  const doc =
    'intro\n<!-- in-process:begin -->\nA\n<!-- in-process:end -->\nmiddle\n<!-- load:begin -->\nold\n<!-- load:end -->\ntail\n';

  it('replaces only the named section, markers included, and keeps the rest byte for byte', () => {
    const out = replaceSection(doc, 'load', '<!-- load:begin -->\nnew\n<!-- load:end -->');
    expect(out).toBe(
      'intro\n<!-- in-process:begin -->\nA\n<!-- in-process:end -->\nmiddle\n<!-- load:begin -->\nnew\n<!-- load:end -->\ntail\n',
    );
  });

  it('refuses a document without both markers, or with them twice', () => {
    expect(() => replaceSection('no markers', 'load', 'x')).toThrow(/not found/);
    expect(() => replaceSection('<!-- load:end --><!-- load:begin -->', 'load', 'x')).toThrow(/not found/);
    expect(() => replaceSection(`${doc}${doc}`, 'load', 'x')).toThrow(/more than once/);
  });
});

describe('renderLoadSection', () => {
  const latency = { count: 10, mean: 1, min: 0.5, p50: 0.9, p95: 1.5, p99: 2.5, p999: 4, max: 5 };
  const ghzRun = (rps: number, byKey: Record<string, number>) => ({
    rps,
    latencyMs: latency,
    clientCores: 0.9,
    server: {
      cores: 0.98,
      cpuUsPerCall: 480,
      byKey,
      caches: { token: { hits: 99, misses: 1, ratio: 0.99 }, decision: { hits: 0, misses: 100, ratio: 0 } },
    },
    crossCheck: { ok: true, problems: [], serverAnswered: 100, clientOk: 100 },
    mix: { ok: true, problems: [] },
    command: 'ghz ...',
  });
  const results = {
    startedAt: '2026-11-28T16:00:00.000Z',
    elapsedMinutes: 9.6,
    options: {
      command: 'npm run bench',
      durationS: 10,
      warmupS: 2,
      concurrency: 32,
      connections: 4,
      h2loadClients: 4,
      h2loadStreams: 8,
    },
    machine: {
      cpu: 'AMD EPYC',
      cores: 2,
      memoryGiB: 24,
      kernel: 'linux 6.1',
      node: '20.20.2',
      loadAverage: [0.5, 0.4, 0.3],
    },
    tools: {
      ghz: 'v0.120.0',
      h2load: 'nghttp2/1.52.0',
      opaEnvoy: 'opa-envoy-plugin v1.19.1-envoy (go1.26.8 linux/amd64)',
    },
    pinning: { server: '0', client: '1' },
    workers: { supported: false },
    scenarios: {
      null: {
        name: 'null',
        title: 'null server',
        loadAverage: 0.5,
        server: { kind: 'null', peakRssBytes: 80 * 2 ** 20 },
        saturation: ghzRun(8000, { 'allow|ok': 80000 }),
        half: ghzRun(4000, {}),
        h2load: {
          ...ghzRun(9000, { 'allow|ok': 90032 }),
          request: 'GET /accounts/acc-1 (allow|ok)',
          crossCheck: { ok: true, problems: [], serverAnswered: 90032, clientOk: 90000 },
        },
      },
      warm: {
        name: 'warm',
        title: 'warm',
        loadAverage: 0.6,
        server: {
          kind: 'authzd',
          peakRssBytes: 120 * 2 ** 20,
          policies: 9,
          entities: 412,
          activationMs: 150,
          startupMs: 900,
          command: 'node dist/cli/main.js serve',
        },
        preflight: { messages: 1470, designMismatches: 0 },
        saturation: ghzRun(2000, { 'allow|policy_allowed': 18000, 'deny|policy_denied': 2000 }),
        half: ghzRun(1000, {}),
        h2load: { skipped: 'h2load unavailable' },
      },
      'opa-warm': {
        name: 'opa-warm',
        title: 'OPA-Envoy (peer): the warm messages',
        loadAverage: 0.6,
        server: { kind: 'opa', peakRssBytes: 50 * 2 ** 20, command: 'opa-envoy-plugin run' },
        preflight: { messages: 1470, designMismatches: 0 },
        saturation: { ...ghzRun(1500, {}), crossCheck: { peer: true, ok: true, problems: [] }, mix: undefined },
        half: { ...ghzRun(750, {}), crossCheck: { peer: true, ok: true, problems: [] }, mix: undefined },
        h2load: { skipped: 'h2load unavailable' },
      },
      cold: { name: 'cold', title: 'cold', error: 'server exited (1) before it was ready' },
      'workers-1': {
        name: 'workers-1',
        title: 'warm, --workers 1',
        skipped: 'not supported: `authzd serve --help` lists no --workers',
      },
    },
    targets: [
      { target: 'warm throughput ≥ 70% of the null server (one worker)', measured: '25%', met: false },
      { target: 'activation stall < 20 ms', measured: 'not measured', met: undefined },
    ],
    problems: ['cold failed: server exited (1) before it was ready'],
    commands: ['# authzd', 'node dist/cli/main.js serve'],
  };
  const md = renderLoadSection(results);

  it('is wrapped in the load markers and names the machine and tools', () => {
    expect(md.startsWith('<!-- load:begin -->\n')).toBe(true);
    expect(md.endsWith('\n<!-- load:end -->')).toBe(true);
    expect(md).toContain('AMD EPYC, 2 cores, 24 GiB, linux 6.1, Node 20.20.2');
    expect(md).toContain(
      'ghz v0.120.0, h2load nghttp2/1.52.0, opa-envoy-plugin v1.19.1-envoy (go1.26.8 linux/amd64) built from source.',
    );
  });

  it('shows missed targets as missed and unmeasured ones as not measured', () => {
    expect(md).toContain('| warm throughput ≥ 70% of the null server (one worker) | 25% | **missed** |');
    expect(md).toContain('| activation stall < 20 ms | not measured | not measured |');
  });

  it('checks every h2load run against the server’s count', () => {
    expect(md).toContain(
      '| null server | GET /accounts/acc-1 (allow\\|ok) | 9,000 | 100% | 8,000 | 0.90 | 2.50 | 480 | 90,032 / 90,000 | agree |',
    );
  });

  it('shows the peer without a counter to check against, and its answers compared before load', () => {
    expect(md).toMatch(/\| OPA-Envoy \(peer\): the warm messages \| 1,500 \| 19% \| .* \| n\/a \(peer\) \| 0\.6 \|/);
    expect(md).toContain(
      "| OPA-Envoy (peer): the warm messages | n/a: the peer counts no decisions; ghz's calls are its calls |  |  |  | 1,470 messages, each allowed or denied as authzd's design says |",
    );
    // No start-up row: the peer has no activation to report.
    expect(md).not.toMatch(/\| OPA-Envoy \(peer\): the warm messages \| n\/a \| n\/a \|/);
  });

  it('gives each scenario its ratio to the null server, and failures their error', () => {
    expect(md).toMatch(/\| warm \| 2,000 \| 25% \| 0\.90 \|/);
    expect(md).toContain('| cold | failed: server exited (1) before it was ready |');
    expect(md).toContain('| warm, --workers 1 | not supported: `authzd serve --help` lists no --workers |');
    expect(md).toContain('- cold failed: server exited (1) before it was ready');
    expect(md).toContain(
      '| warm | policy_allowed 18,000 | policy_denied 2,000 | 0 | 99% / 0% | 1,470 messages, all as designed |',
    );
  });
});
