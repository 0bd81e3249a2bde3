// What tracing costs on the Check path, as an interleaved A/B in one process: the Check runner and pipeline
// (no gRPC: the transport would hide a small difference) of this build and of a baseline build without
// tracing (`--baseline-ref`, default the merge-base with main), each with caches on (the warm production
// path, where a fixed cost weighs most). Arms:
//   base             the baseline build (no tracing code at all)
//   base again       a second instance of the baseline (A/A: the noise floor of the measurement)
//   off              this build, tracing off (the default)
//   on, sampled out  tracing on, the sampler saying no (always_off): a span is started and dropped
//   on, sampled      tracing on, every call sampled and exported over OTLP/HTTP to a real receiver
//                    (test/tools/otlp-receiver, in its own process), CPU of batching and export included
// Each round runs every arm for --batch calls, in an order that rotates from round to round, and measures
// CPU (user + system) per call; the result per arm is the median over rounds, and the ratio to `base` is the
// median of the per-round ratios (so a noisy neighbour slows both arms of a round alike).
//
//   npm run build && node bench/tracing-overhead.mjs [--rounds N] [--batch N] [--baseline-ref REF] [--write]
//
// --write replaces the tracing section of docs/BENCHMARKS.md with the results.
import '../dist/cedar/engine-flags.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Registry } from 'prom-client';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    batch: { type: 'string', default: '2000' },
    'baseline-ref': { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

// The baseline build: the tree of the ref, compiled beside this one's node_modules.
const ref = values['baseline-ref'] ?? git('merge-base', 'HEAD', 'main');
const refName = `${git('rev-parse', '--short', ref)} (${git('log', '-1', '--format=%s', ref).slice(0, 60)}…)`;
const baseDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-base-'));
execFileSync('bash', ['-c', `git archive ${ref} | tar -x -C ${baseDir}`], { cwd: ROOT });
symlinkSync(path.join(ROOT, 'node_modules'), path.join(baseDir, 'node_modules'));
execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', baseDir], { stdio: 'inherit' });

// One token issuer for both builds.
const work = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-tracing-'));
const { publicKey, privateKey } = await generateKeyPair('ES256');
writeFileSync(
  path.join(work, 'jwks.json'),
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
);
const ISSUER = 'https://issuer.bench';
const token = await new SignJWT({ tenant: 'acme', roles: ['teller'], scope: 'accounts:read' })
  .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
  .setIssuer(ISSUER)
  .setAudience('bank-api')
  .setSubject('bob')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey);
// Envoy's request, with the trace context it forwards (sampled), in every arm.
const message = {
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3', port_value: 5000 } } },
    request: {
      http: {
        method: 'GET',
        path: '/accounts/acc-1001',
        host: 'bank.example.com',
        scheme: 'https',
        headers: {
          authorization: `Bearer ${token}`,
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        },
      },
    },
  },
};

// The real OTLP receiver the sampled arm exports to, in its own process.
const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-otlp-receiver.sh')], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(`building the OTLP receiver failed: ${build.stderr}`);
const receiver = spawn(build.stdout.trim().split('\n').at(-1), [], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = createInterface({ input: receiver.stdout });
let received = 0;
const receiverUrl = await new Promise((resolve) =>
  lines.on('line', (line) => {
    const m = /^listening http=(\S+)/.exec(line);
    if (m !== null) resolve(`http://${m[1]}/v1/traces`);
    else received++;
  }),
);

/** A Check runner of the build in `dist`, with `tracing` (this build only) or without. */
async function runnerOf(dist, tracing) {
  const load = (p) => import(path.join(dist, p));
  const { ConfigSchema } = await load('config/config-schema.js');
  const { CedarWasmEngine } = await load('engine/cedar-wasm/cedar-wasm-engine.js');
  const { PolicyStore } = await load('engine/policy-store.js');
  const { compilePolicyModel } = await load('policy/compile-policy-model.js');
  const { readPolicyDir } = await load('policy/policy-files.js');
  const { TokenVerifier } = await load('token/token-verifier.js');
  const { DecisionCache } = await load('check/decision-cache.js');
  const { CheckPipeline } = await load('check/check-pipeline.js');
  const { createCheckRunner } = await load('server/check-runner.js');
  const { createMetrics } = await load('telemetry/metrics.js');
  const { createAuditLog } = await load('audit/audit-log.js');
  const { createLogger } = await load('telemetry/create-logger.js');
  const config = ConfigSchema.parse({
    tokens: {
      issuers: [
        { issuer: ISSUER, audiences: ['bank-api'], algorithms: ['ES256'], jwksFile: path.join(work, 'jwks.json') },
      ],
    },
  });
  const engine = new CedarWasmEngine({ validateRequests: true });
  const store = new PolicyStore(engine);
  store.activate(compilePolicyModel(await readPolicyDir(path.join(ROOT, 'policies'))));
  let id = 0;
  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier: new TokenVerifier(config.tokens, { now: Date.now, cache: config.cache.tokens }),
    now: Date.now,
    newId: () => `b${++id}`,
    decisionCache: new DecisionCache(config.cache.decisions),
  });
  let tracer;
  let stop = async () => {};
  const metrics = createMetrics(new Registry(), { exemplars: tracing !== undefined });
  if (tracing !== undefined) {
    const { startTracing } = await load('telemetry/start-tracing.js');
    const { resolveTracingSettings } = await load('telemetry/tracing-settings.js');
    const settings = resolveTracingSettings(
      config.tracing,
      // Batches leave every 100 ms (default 5 s): at this call rate the default queue of 2048 would fill
      // between two exports and most spans would be dropped (counted) instead of exported.
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiverUrl,
        OTEL_TRACES_SAMPLER: tracing.sampler,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      'authzd-bench',
    );
    const t = startTracing(settings, {
      version: 'bench',
      counters: {
        onExported: (n) => metrics.traceSpansExported.inc(n),
        onDropped: (reason, n) => metrics.traceSpansDropped.inc({ reason }, n),
      },
    });
    tracer = t.checks;
    stop = () => t.shutdown();
  }
  const sinks = {
    metrics,
    audit: createAuditLog(config.audit, { stream: { write: () => true } }),
    logger: createLogger('silent'),
    throttle: () => false,
  };
  const runner = createCheckRunner({ pipeline, sinks, version: () => 'v', ...(tracer ? { tracer } : {}) });
  const first = await runner.run(message);
  if (first.kind !== 'decision' || !first.decision.allowed) throw new Error(`unexpected ${JSON.stringify(first)}`);
  return { run: () => runner.run(message), stop, metrics };
}

const arms = [
  { name: 'base', ...(await runnerOf(path.join(baseDir, 'dist'))) },
  // A/A: the baseline again, a second instance; its ratio to `base` is the noise of the measurement.
  { name: 'base again (A/A)', ...(await runnerOf(path.join(baseDir, 'dist'))) },
  { name: 'off', ...(await runnerOf(path.join(ROOT, 'dist'))) },
  { name: 'on, sampled out', ...(await runnerOf(path.join(ROOT, 'dist'), { sampler: 'always_off' })) },
  { name: 'on, sampled', ...(await runnerOf(path.join(ROOT, 'dist'), { sampler: 'always_on' })) },
];

// A server's calls arrive through I/O, so the event loop turns between them and the batch processor's timer
// and exports get their turn; a loop of cached calls alone would settle in microtasks and starve them.
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function cpuPerCall(arm) {
  const start = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) {
    await arm.run();
    if (i % 32 === 31) await turn();
  }
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / BATCH;
}

for (const arm of arms) await cpuPerCall(arm); // warm-up
const perRound = arms.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < arms.length; k++) {
    const a = (k + r) % arms.length;
    perRound[a].push(await cpuPerCall(arms[a]));
  }
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (xs, q) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const exported = arms.find((a) => a.name === 'on, sampled').metrics;
for (const arm of arms) await arm.stop();
receiver.kill('SIGTERM');

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.versions.node}, ${os.platform()} ${os.release()}`;
const rows = arms.map((arm, a) => {
  const ratios = perRound[a].map((x, r) => x / perRound[0][r]);
  return `| ${arm.name} | ${median(perRound[a]).toFixed(2)} | ${median(ratios).toFixed(3)} | ${quantile(ratios, 0.1).toFixed(3)} – ${quantile(ratios, 0.9).toFixed(3)} |`;
});
const spans = (await exported.traceSpansExported.get()).values[0]?.value ?? 0;
const dropped = (await exported.traceSpansDropped.get()).values.reduce((n, v) => n + v.value, 0);
const section = [
  '<!-- tracing:begin -->',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run build && node bench/tracing-overhead.mjs --rounds ${ROUNDS} --batch ${BATCH}\` on ${machine} (shared with other work), baseline \`${refName}\`. ${ROUNDS} rounds × ${BATCH} calls per arm, arms interleaved; the sampled arm's receiver took ${received} export requests (${spans} spans exported, ${dropped} dropped for a full queue or a failed export).`,
  '',
  '| arm | CPU µs per Check (median of rounds) | ratio to base (median of per-round ratios) | per-round ratio, 10th – 90th percentile |',
  '| --- | --- | --- | --- |',
  ...rows,
  '<!-- tracing:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
if (values.write) {
  const file = path.join(ROOT, 'docs', 'BENCHMARKS.md');
  const doc = readFileSync(file, 'utf8');
  if (!doc.includes('<!-- tracing:begin -->')) throw new Error('docs/BENCHMARKS.md has no tracing section markers');
  writeFileSync(file, doc.replace(/<!-- tracing:begin -->[\s\S]*<!-- tracing:end -->/, section));
}
process.exit(0);
