// The soak test: authzd under sustained load at about 70% of its saturation for a long time (default ten
// minutes), with warm (re-used) and cold (fresh) tokens, while a real control plane publishes a new bundle
// revision and a revocation every few seconds. It reports errors by kind (cross-checked with the server's
// own counters), latency percentiles per minute, throughput, RSS and heap over time and their growth after
// warm-up, event-loop lag, and how many publications and revocations reached the sidecar (and how fast).
//
//   npm run soak                                  # build, then ten minutes
//   npm run soak -- --duration 3m --rate 300
//   node bench/soak.mjs --help
//
// Writes bench/results/soak-<timestamp>.json and regenerates the section of docs/BENCHMARKS.md between
// <!-- soak:begin --> and <!-- soak:end --> (unless --no-docs). Not part of `npm test`.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { writePolicySet } from './generate-policy-set.mjs';
import { CHECK_METHOD, checkMethod, encodeCheckRequest, httpCheckRequest } from './lib/check-requests.mjs';
import { compareMix, crossCheckCounts, expectedCounts } from './lib/cross-check.mjs';
import { warmMessages, warmPolicyFiles } from './lib/datasets.mjs';
import { lengthDelimited } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureGhz, killAllLoadGenerators, runGhz } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { decisionCounts, LOAD_DEPENDENT, waitQuiet } from './lib/measure.mjs';
import { preflight } from './lib/preflight.mjs';
import { diffCounts, sumSamples } from './lib/prometheus-text.mjs';
import { processTree } from './lib/proc-stats.mjs';
import { replaceSection } from './lib/report-markdown.mjs';
import { killAllServers, pinned, sleep, snapshotBuild, startServer } from './lib/servers.mjs';
import { renderSoakSection, summarizeSoak } from './lib/soak-report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';

const HELP = `usage: node bench/soak.mjs [options]   (npm run soak -- [options] builds first)

  --duration T      how long to drive load: seconds, or with a unit (90s, 10m); default 10m
  --rate N          total calls/s; default 70% of a saturation probe run at the start
  --cold-share F    share of calls with a fresh token (default 0.2); the rest re-use tokens
  --churn S         seconds between bundle publications, and between revocations (default 5)
  --segment S       length of one measured segment, the report's row (default 60)
  --warmup S        time before the memory baseline: the caches fill first (default 120)
  --heap-mib N      authzd's V8 heap limit, as the Kubernetes manifest sets it (default 256; 0: node's own)
  --concurrency N   ghz concurrent calls per load generator (default 32)
  --connections N   ghz connections per load generator (default 4)
  --no-docs         do not touch docs/BENCHMARKS.md
  --keep            keep the temporary directory (ghz reports, server logs)
  --server-cpus L   taskset CPU list for authzd (default 0)
  --client-cpus L   taskset CPU list for ghz and the control plane (default: the other CPUs)`;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    rate: { type: 'string' },
    'cold-share': { type: 'string', default: '0.2' },
    churn: { type: 'string', default: '5' },
    segment: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '120' },
    'heap-mib': { type: 'string', default: '256' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '4' },
    'no-docs': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'server-cpus': { type: 'string' },
    'client-cpus': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}
function seconds(name, text) {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text);
  if (m === null || Number(m[1]) <= 0)
    fail(`--${name} must be a positive number of seconds (or 10m, 90s), got ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}
function positive(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
const opts = {
  durationS: seconds('duration', values.duration),
  segmentS: seconds('segment', values.segment),
  churnS: seconds('churn', values.churn),
  warmupS: seconds('warmup', values.warmup),
  heapMiB: values['heap-mib'] === '0' ? 0 : positive('heap-mib', values['heap-mib']),
  coldShare: Number(values['cold-share']),
  rate: values.rate === undefined ? undefined : positive('rate', values.rate),
  concurrency: positive('concurrency', values.concurrency),
  connections: positive('connections', values.connections),
};
if (!(opts.coldShare >= 0 && opts.coldShare < 1)) fail(`--cold-share must be in [0, 1), got ${values['cold-share']}`);
const segments = Math.max(1, Math.round(opts.durationS / opts.segmentS));
// Segments before the memory baseline; at least one is left after it for the end figure.
opts.warmupSegments = Math.min(Math.max(1, Math.round(opts.warmupS / opts.segmentS)), Math.max(1, segments - 2));

const pinning = cpuPinning(values['server-cpus'], values['client-cpus']);
const started = new Date();
const startLoad = os.loadavg().map((l) => Math.round(l * 100) / 100);
const log = (msg) =>
  process.stderr.write(`[soak ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-soak-'));
const children = new Set();
process.on('exit', () => {
  killAllLoadGenerators();
  killAllServers();
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
}

/** `authzd control-plane` from the snapshot, pinned with the load generators; resolves with its base URL. */
async function startControlPlane(app, { policies, keysDir, kid }) {
  const argv = pinned(pinning.client, [
    process.execPath,
    path.join(app, 'dist', 'cli', 'main.js'),
    'control-plane',
    '--policies',
    policies,
    '--signing-key',
    path.join(keysDir, 'signing-key.pem'),
    '--kid',
    kid,
    '--addr',
    '127.0.0.1:0',
    '--data',
    path.join(workDir, 'cp-data'),
  ]);
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AUTHZD_CP_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  children.add(child);
  let text = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane not ready:\n${text.slice(-2000)}`)), 120_000);
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const m = /"port":(\d+)[^\n]*"msg":"control plane ready"/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`control plane exited (${code}):\n${text.slice(-2000)}`)));
  });
  child.stderr.removeAllListeners('data');
  child.stderr.resume();
  return {
    base,
    argv,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

/** One Check with authzd's protos; resolves with the decision, reason and policy version it reported. */
function probeClient(grpcAddr) {
  const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure());
  const identity = (b) => b;
  return {
    check: (bytes) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          CHECK_METHOD,
          identity,
          identity,
          bytes,
          { deadline: Date.now() + 5_000 },
          (err, response) => {
            if (err) return resolve({ key: `error|${err.details || grpc.status[err.code]}` });
            const r = checkMethod().responseDeserialize(response);
            const fields = r.dynamic_metadata?.fields ?? {};
            const decision = r.ok_response !== undefined && r.ok_response !== null ? 'allow' : 'deny';
            resolve({
              key: `${decision}|${fields.reason?.stringValue ?? 'unknown'}`,
              version: fields.policy_version?.stringValue,
            });
          },
        );
      }),
    close: () => client.close(),
  };
}

/** Tellers of the warm mix's users (user-15..17 of every 20), who may read any account of their tenant. */
const TELLERS = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 20 >= 15 && i % 20 <= 17);
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
function coldClaims(i, jti) {
  const u = TELLERS[i % TELLERS.length];
  return { sub: `user-${u}`, tenant: TENANTS[u % 4], roles: ['teller'], scope: 'accounts:read', jti };
}
/** Account n of the warm set belongs to tenant TENANTS[n mod 4]; 400 accounts. */
const accountFor = (i, tenant) => 4 * ((i * 7) % 100) + TENANTS.indexOf(tenant);

async function coldSegment(issuer, segment, count) {
  const claims = Array.from({ length: count }, (_, k) => coldClaims(segment * count + k, `soak-cold-${segment}-${k}`));
  const tokens = await issuer.signMany(claims);
  return tokens.map((token, k) =>
    encodeCheckRequest(
      httpCheckRequest({ path: `/accounts/acc-${accountFor(segment * count + k, claims[k].tenant)}`, token }),
    ),
  );
}

let cp;
let server;
try {
  const ghz = ensureGhz(log);
  const build = snapshotBuild(workDir);
  const issuer = await createIssuer(workDir);
  const cli = path.join(build.app, 'dist', 'cli', 'main.js');

  // The control plane serves the warm mix's policy set (the example policies, 400 accounts).
  const policies = path.join(workDir, 'policies');
  writePolicySet(policies, warmPolicyFiles());
  const keysDir = path.join(workDir, 'keys');
  const kid = 'soak';
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'keys', 'generate', '--out', keysDir, '--kid', kid], {
      stdio: 'ignore',
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`keys generate exited ${code}`))));
  });
  cp = await startControlPlane(build.app, { policies, keysDir, kid });
  log(`control plane at ${cp.base}; authzd build ${build.fingerprint}`);
  server = await startServer({
    kind: 'authzd',
    cpus: pinning.server,
    issuer,
    workDir,
    name: 'soak',
    nodeArgs: opts.heapMiB > 0 ? [`--max-old-space-size=${opts.heapMiB}`] : [],
    extraArgs: [
      '--bundle-url',
      `${cp.base}/v1/bundles/default`,
      '--bundle-public-key',
      `${kid}=${path.join(keysDir, 'public-key.pem')}`,
      '--revocation-url',
      `${cp.base}/v1/revocations`,
    ],
  });
  log(`authzd ready in ${server.startupMs} ms`);

  // The warm mix, and its answers in isolation: what the server's counters must show under load.
  const warm = await warmMessages(issuer);
  const pre = await preflight(server.grpcAddr, warm);
  const warmFile = path.join(workDir, 'warm.bin');
  writeFileSync(warmFile, lengthDelimited(warm.map((m) => m.bytes)));
  const ghzBase = {
    target: server.grpcAddr,
    concurrency: opts.concurrency,
    connections: opts.connections,
    cpus: pinning.client,
  };

  let saturation;
  let rate = opts.rate;
  if (rate === undefined) {
    // Saturation of the soak's own mix (fresh tokens cost a signature verification each): one ghz over a
    // file interleaving warm messages and fresh-token ones in the soak's proportion, as fast as it goes.
    const coldPool =
      opts.coldShare === 0 ? [] : await coldSegment(issuer, segments, Math.ceil(opts.coldShare * 13 * 5_000));
    const mixed = [];
    for (let i = 0, w = 0, c = 0; i < Math.max(warm.length, coldPool.length / opts.coldShare || 0); i++) {
      const isCold = Math.floor((i + 1) * opts.coldShare) > Math.floor(i * opts.coldShare);
      mixed.push(isCold && c < coldPool.length ? coldPool[c++] : warm[w++ % warm.length].bytes);
    }
    const mixedFile = path.join(workDir, 'saturation.bin');
    writeFileSync(mixedFile, lengthDelimited(mixed));
    await runGhz(ghz, {
      ...ghzBase,
      binFile: warmFile,
      durationS: 3,
      outFile: path.join(workDir, 'saturation-warmup.json'),
    });
    const sat = await runGhz(ghz, {
      ...ghzBase,
      binFile: mixedFile,
      durationS: 10,
      outFile: path.join(workDir, 'saturation.json'),
    });
    saturation = {
      rps: sat.report.okCount / sat.report.seconds,
      seconds: sat.report.seconds,
      errors: sat.report.errorCount,
      coldShare: opts.coldShare,
    };
    rate = Math.max(2, Math.round(saturation.rps * 0.7));
    log(`saturation ${Math.round(saturation.rps)} calls/s (the soak's mix, 10 s); driving ${rate} calls/s`);
  }
  const coldRate = Math.round(rate * opts.coldShare);
  const warmRate = rate - coldRate;
  // Fresh tokens for every cold call of every segment (with room for ghz running a little long).
  const coldPerSegment = Math.ceil(coldRate * opts.segmentS * 1.2) + 50;
  const coldFiles = [];
  if (coldRate > 0) {
    log(`signing ${coldPerSegment * segments} fresh tokens`);
    for (let s = 0; s < segments; s++) {
      const file = path.join(workDir, `cold-${s}.bin`);
      writeFileSync(file, lengthDelimited(await coldSegment(issuer, s, coldPerSegment)));
      coldFiles.push(file);
    }
  }

  const countersBefore = decisionCounts(await waitQuiet(server));
  const probeTally = {};
  const tally = (key) => (probeTally[key] = (probeTally[key] ?? 0) + 1);
  const probe = probeClient(server.grpcAddr);
  let running = true;

  // Samples every 5 s: RSS of the server's process tree from /proc; heap and event-loop lag from /metrics
  // (prom-client resets the lag histogram at every scrape, so each sample covers the 5 s before it).
  const samples = [];
  const sampler = (async () => {
    await server.scrape();
    while (running) {
      await sleep(5_000);
      try {
        const m = await server.scrape();
        let rss = 0;
        for (const pid of processTree(server.pid)) {
          const status = readFileSync(`/proc/${pid}/status`, 'utf8');
          rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
        }
        samples.push({
          at: Date.now(),
          rssBytes: rss,
          heapUsedBytes: sumSamples(m, 'nodejs_heap_size_used_bytes'),
          lagMaxMs: sumSamples(m, 'nodejs_eventloop_lag_max_seconds') * 1000,
          lagP99Ms: sumSamples(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
          revocations: sumSamples(m, 'authzd_revocations'),
          // The bounded caches fill as fresh tokens arrive: memory that grows by design up to their caps.
          tokenCacheEntries: sumSamples(m, 'authzd_cache_entries', { cache: 'token' }),
          decisionCacheEntries: sumSamples(m, 'authzd_cache_entries', { cache: 'decision' }),
          bundleRevision: sumSamples(m, 'authzd_bundle_revision'),
        });
      } catch (err) {
        log(`sample failed: ${err.message}`);
      }
    }
  })();

  // Churn: every churnS a new revision (a policy file changes, then an explicit publish), and half-way in
  // between a revocation; each followed by probes until the sidecar shows it.
  const churn = [];
  const probeMessage = warm[pre.answers.findIndex((a) => a === 'allow|policy_allowed')].bytes;
  const cedarFile = path.join(policies, 'accounts.cedar');
  let publications = 0;
  let revocations = 0;
  const publish = async () => {
    const at = Date.now();
    appendFileSync(cedarFile, `\n// soak publication ${++publications} at ${new Date(at).toISOString()}\n`);
    const res = await fetch(`${cp.base}/v1/bundles/default/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = await res.json();
    // The control plane's own share (compile, sign, store; it shares its CPU with ghz), apart from the sidecar's.
    const event = { kind: 'publication', at, revision: body.revision, result: body.result, publishMs: Date.now() - at };
    // "unchanged": the control plane's directory watcher published the same change a moment earlier.
    if (res.status !== 200 || (body.result !== 'published' && body.result !== 'unchanged')) {
      churn.push({ ...event, failed: `control plane answered ${res.status} ${body.result ?? body.error}` });
      return;
    }
    for (;;) {
      const r = await probe.check(probeMessage);
      tally(r.key);
      if (r.version !== undefined && Number(r.version) >= body.revision) {
        churn.push({ ...event, appliedMs: Date.now() - at });
        return;
      }
      if (Date.now() - at > 15_000) {
        churn.push({ ...event, failed: `revision ${body.revision} not active after 15 s (probe saw ${r.version})` });
        return;
      }
      await sleep(50);
    }
  };
  const revoke = async () => {
    const jti = `soak-revoked-${++revocations}`;
    const claims = coldClaims(revocations, jti);
    const bytes = encodeCheckRequest(
      httpCheckRequest({
        path: `/accounts/acc-${accountFor(revocations, claims.tenant)}`,
        token: await issuer.sign(claims),
      }),
    );
    const before = await probe.check(bytes);
    tally(before.key);
    const at = Date.now();
    const res = await fetch(`${cp.base}/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'jti', value: jti, ttlSeconds: 3600 }),
    });
    const event = { kind: 'revocation', at, jti, allowedBefore: before.key === 'allow|policy_allowed' };
    if (res.status !== 201) {
      churn.push({ ...event, failed: `control plane answered ${res.status}` });
      return;
    }
    for (;;) {
      const r = await probe.check(bytes);
      tally(r.key);
      if (r.key === 'deny|token_revoked') {
        churn.push({ ...event, appliedMs: Date.now() - at });
        return;
      }
      if (Date.now() - at > 5_000) {
        churn.push({ ...event, failed: `not revoked after 5 s (probe saw ${r.key})` });
        return;
      }
      await sleep(20);
    }
  };
  const churner = (async () => {
    while (running) {
      await sleep((opts.churnS * 1000) / 2);
      if (!running) break;
      await publish().catch((err) => churn.push({ kind: 'publication', at: Date.now(), failed: err.message }));
      await sleep((opts.churnS * 1000) / 2);
      if (!running) break;
      await revoke().catch((err) => churn.push({ kind: 'revocation', at: Date.now(), failed: err.message }));
    }
  })();

  // The load: one warm and one cold ghz per segment, side by side at constant rates.
  const segmentResults = [];
  let warmArgv;
  let coldArgv;
  for (let s = 0; s < segments; s++) {
    const from = Date.now();
    const runs = [
      runGhz(ghz, {
        ...ghzBase,
        binFile: warmFile,
        durationS: opts.segmentS,
        rps: warmRate,
        outFile: path.join(workDir, `warm-${s}.json`),
      }),
    ];
    if (coldRate > 0)
      runs.push(
        runGhz(ghz, {
          ...ghzBase,
          binFile: coldFiles[s],
          durationS: opts.segmentS,
          rps: coldRate,
          outFile: path.join(workDir, `cold-${s}.json`),
        }),
      );
    const [w, c] = await Promise.all(runs);
    warmArgv ??= w.argv;
    coldArgv ??= c?.argv;
    const to = Date.now();
    segmentResults.push({
      index: s,
      fromMs: from,
      toMs: to,
      warm: w.report,
      cold: c?.report,
      coldTokens: coldPerSegment,
    });
    const calls = w.report.count + (c?.report.count ?? 0);
    log(
      `minute ${s + 1}/${segments}: ${Math.round((w.report.okCount + (c?.report.okCount ?? 0)) / ((to - from) / 1000))} calls/s, warm p99 ${w.report.latencyMs.p99.toFixed(2)} ms, errors ${calls - w.report.okCount - (c?.report.okCount ?? 0)}, RSS ${((samples.at(-1)?.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  running = false;
  await Promise.all([sampler, churner]);
  probe.close();
  const countersAfter = decisionCounts(await waitQuiet(server));
  const finalSamples = await server.scrape();

  const serverByKey = diffCounts(countersBefore, countersAfter);
  const clientOk = segmentResults.reduce((n, s) => n + s.warm.okCount + (s.cold?.okCount ?? 0), 0);
  const probeAnswered = Object.entries(probeTally)
    .filter(([k]) => !k.startsWith('error|'))
    .reduce((n, [, v]) => n + v, 0);
  const slack = opts.concurrency * 2 * segments;
  const crossCheck = crossCheckCounts({
    tool: 'ghz (+ probes)',
    clientOk: clientOk + probeAnswered,
    serverByKey,
    slack,
  });
  const expected = {};
  const add = (counts) => {
    for (const [k, v] of Object.entries(counts)) expected[k] = (expected[k] ?? 0) + v;
  };
  for (const s of segmentResults) {
    add(expectedCounts(pre.answers, s.warm.count));
    if (s.cold !== undefined) add({ 'allow|policy_allowed': s.cold.count });
  }
  add(probeTally);
  const mix = compareMix(expected, serverByKey, slack, { absorbing: LOAD_DEPENDENT });

  const finished = new Date();
  const results = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    elapsedMinutes: (finished.getTime() - started.getTime()) / 60_000,
    command: commandLine(),
    options: { ...opts, segments },
    machine: { ...describeMachine(), loadAverage: startLoad },
    tools: { ghz: ghz.version },
    pinning,
    build: { fingerprint: build.fingerprint },
    saturation,
    rate: { total: rate, warm: warmRate, cold: coldRate },
    preflight: { messages: warm.length, mix: pre.mix, designMismatches: pre.mismatches.length },
    segments: segmentResults.map((s) => ({
      ...s,
      warm: stripCalls(s.warm),
      cold: s.cold === undefined ? undefined : stripCalls(s.cold),
      latency: segmentLatency(s),
    })),
    samples,
    churn,
    probes: probeTally,
    server: {
      byKey: serverByKey,
      crossCheck,
      mix,
      activations: sumSamples(finalSamples, 'authzd_policy_activations_total', { result: 'success' }),
      activationFailures: sumSamples(finalSamples, 'authzd_policy_activations_total', { result: 'failure' }),
      bundleFailures: sumSamples(finalSamples, 'authzd_bundle_failures_total'),
      revocationPollFailures:
        sumSamples(finalSamples, 'authzd_revocation_polls_total') -
        sumSamples(finalSamples, 'authzd_revocation_polls_total', { result: 'ok' }),
      revocationsHeld: sumSamples(finalSamples, 'authzd_revocations'),
      auditDropped: sumSamples(finalSamples, 'authzd_audit_events_dropped_total'),
    },
    commands: {
      server: sanitize(server.command, build.app),
      controlPlane: sanitize(cp.argv, build.app),
      warm: warmArgv === undefined ? undefined : sanitize(warmArgv, build.app),
      cold: coldArgv === undefined ? undefined : sanitize(coldArgv, build.app),
    },
  };
  results.summary = summarizeSoak(results);

  const resultsDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `soak-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const section = renderSoakSection(results);
  if (!values['no-docs']) {
    const docFile = path.join(ROOT, 'docs', 'BENCHMARKS.md');
    writeFileSync(docFile, replaceSection(readFileSync(docFile, 'utf8'), 'soak', section));
  }
  process.stdout.write(
    `${section}\n\nresults: ${path.relative(process.cwd(), resultsFile)}${values['no-docs'] ? '' : ' (docs/BENCHMARKS.md updated)'}\n`,
  );
} finally {
  await server?.stop();
  await cp?.stop();
  if (values.keep) log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

/** A ghz report without its per-call details (the JSON would otherwise hold every call). */
function stripCalls(report) {
  const { calls: _calls, ...rest } = report;
  return rest;
}

/** Percentiles of every OK call of a segment, warm and cold together, and of the cold calls alone. */
function segmentLatency(s) {
  const all = [...s.warm.calls, ...(s.cold?.calls ?? [])].filter((c) => c.ok).map((c) => c.latencyMs);
  const sorted = Float64Array.from(all).sort();
  const at = (p) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const cold = Float64Array.from((s.cold?.calls ?? []).filter((c) => c.ok).map((c) => c.latencyMs)).sort();
  return {
    calls: sorted.length,
    p50: at(50),
    p99: at(99),
    p999: at(99.9),
    max: sorted.at(-1) ?? Number.NaN,
    coldP99: cold.length === 0 ? Number.NaN : cold[Math.min(cold.length - 1, Math.ceil(0.99 * cold.length) - 1)],
  };
}

function commandLine() {
  const args = process.argv.slice(2);
  return args.length === 0 ? 'npm run soak' : `npm run soak -- ${args.join(' ')}`;
}

/** A command as a reader would type it: repository-relative paths, $WORK for the temporary directory. */
function sanitize(argv, app) {
  return argv
    .map((a) => {
      let s = String(a);
      if (s === process.execPath) return 'node';
      if (s.endsWith('/ghz')) return 'ghz';
      s = s.split(`${app}/`).join('').split(workDir).join('$WORK').split(`${ROOT}/`).join('');
      return /[\s'"]/.test(s) ? `'${s}'` : s;
    })
    .join(' ');
}
