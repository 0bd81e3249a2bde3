// The load benchmark: authzd over gRPC next to the transport ceiling (a null ext_authz server), measured with
// two load generators whose counts are checked against the server's own decision counter.
//
//   npm run bench                                   # build, then every scenario (about ten minutes)
//   npm run bench -- --duration 20 --only warm --only cold
//   node bench/run.mjs --help
//
// Writes bench/results/<timestamp>.json and regenerates the section of docs/BENCHMARKS.md between
// <!-- load:begin --> and <!-- load:end --> (unless --no-docs). Each scenario runs against a fresh server
// process, one at a time, pinned with taskset (servers on CPU 0, load generators on the others).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureActivationStall } from './activation-stall.mjs';
import { generatePolicySet, writePolicySet } from './generate-policy-set.mjs';
import {
  COLD_ACCOUNT_CAP,
  coldMessages,
  coldPolicyFiles,
  denyHeavyMessages,
  generatedSetMessages,
  warmMessages,
  warmPolicyFiles,
} from './lib/datasets.mjs';
import { decodeCheckRequest } from './lib/check-requests.mjs';
import { grpcFrame, lengthDelimited } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureGhz, ensureH2load, killAllLoadGenerators, runGhz, runH2load } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { ghzRecord, h2loadRecord, measured } from './lib/measure.mjs';
import { decisions, goVersion, obtainPeer, OPA_TAG, regoData, startPeer } from './lib/opa-envoy-peer.mjs';
import { compareAnswers, preflight } from './lib/preflight.mjs';
import { treePeakRssBytes } from './lib/proc-stats.mjs';
import { renderLoadSection, replaceSection } from './lib/report-markdown.mjs';
import { authzdSupportsWorkers, killAllServers, serverSettings, snapshotBuild, startServer } from './lib/servers.mjs';
import { evaluateTargets, SATURATED_CORES } from './lib/targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SCENARIOS = [
  { name: 'null', title: 'null server (transport ceiling)' },
  { name: 'warm', title: 'warm: example policies, 300 users, re-used tokens' },
  { name: 'opa-warm', title: 'OPA-Envoy (peer): the warm messages' },
  { name: 'cold', title: 'cold: new token and resource every call' },
  { name: 'opa-cold', title: 'OPA-Envoy (peer): the cold messages' },
  { name: 'deny-heavy', title: 'deny-heavy: 90% denied' },
  { name: 'policies-10', title: 'generated: 10 policies, 1,000 entities' },
  { name: 'policies-1000', title: 'generated: 1,000 policies, 1,000 entities' },
  { name: 'entities-100k', title: 'generated: 1,000 policies, 100,000 entities' },
  { name: 'workers-1', title: 'warm, --workers 1' },
  { name: 'workers-2', title: 'warm, --workers 2' },
  { name: 'activation-stall', title: 'activation stall' },
];
const NAMES = SCENARIOS.map((s) => s.name);

const HELP = `usage: node bench/run.mjs [options]   (npm run bench -- [options] builds first)

  --duration S      seconds per measured run (default 10; each load scenario has three: saturation,
                    half saturation, h2load)
  --warmup S        seconds of unmeasured load before the measured runs (default 2)
  --only NAME       run only these scenarios (repeatable or comma-separated); the null server always runs
                    too, since every ratio is to it. Names: ${NAMES.join(', ')}, workers (= workers-1,workers-2),
                    opa (= warm,opa-warm,cold,opa-cold)
  --concurrency N   ghz concurrent calls (default 32)
  --connections N   ghz connections, also h2load clients (default 4)
  --activations N   re-activations in the activation-stall scenario (default 5)
  --engine E        policies.engine of every authzd server: native or cedar-wasm (default: the sidecar's, native)
  --verify-sample F engine.verifySample of every authzd server (default: the sidecar's, 0.01)
  --opa-bin PATH    a built opa-envoy-plugin for the OPA-Envoy rows (default: built from --opa-git, kept in
                    $TMPDIR; see bench/lib/opa-envoy-peer.mjs)
  --opa-git DIR|URL where the peer's source is (default $OPA_ENVOY_GIT or its public repository)
  --no-opa          skip the OPA-Envoy rows
  --no-h2load       skip the h2load cross-check runs
  --no-docs         do not touch docs/BENCHMARKS.md
  --keep            keep the temporary directory (message files, ghz reports, server logs)
  --server-cpus L   taskset CPU list for servers (default 0)
  --client-cpus L   taskset CPU list for load generators (default: the other CPUs)`;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '4' },
    activations: { type: 'string', default: '5' },
    engine: { type: 'string' },
    'verify-sample': { type: 'string' },
    'no-h2load': { type: 'boolean', default: false },
    'opa-bin': { type: 'string' },
    'opa-git': { type: 'string' },
    'no-opa': { type: 'boolean', default: false },
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

const positive = (name, text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench: --${name} must be a positive integer, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return n;
};
const opts = {
  durationS: positive('duration', values.duration),
  warmupS: positive('warmup', values.warmup),
  concurrency: positive('concurrency', values.concurrency),
  connections: positive('connections', values.connections),
  activations: positive('activations', values.activations),
};
if (values.engine !== undefined && !['native', 'cedar-wasm'].includes(values.engine)) {
  process.stderr.write(`bench: --engine must be native or cedar-wasm, got ${JSON.stringify(values.engine)}\n`);
  process.exit(2);
}
serverSettings.engine = values.engine;
serverSettings.verifySample = values['verify-sample'] !== undefined ? Number(values['verify-sample']) : undefined;
opts.engine = values.engine ?? 'native';
opts.h2loadClients = opts.connections;
opts.h2loadStreams = Math.max(1, Math.round(opts.concurrency / opts.connections));

let selected = new Set(NAMES);
if (values.only !== undefined) {
  const wanted = values.only
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !NAMES.includes(w) && w !== 'workers' && w !== 'opa');
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown scenario ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${NAMES.join(', ')}, workers, opa\n`,
    );
    process.exit(2);
  }
  const ALIASES = { workers: ['workers-1', 'workers-2'], opa: ['warm', 'opa-warm', 'cold', 'opa-cold'] };
  selected = new Set(['null', ...wanted.flatMap((w) => ALIASES[w] ?? [w])]);
}
if (values['no-opa']) for (const n of ['opa-warm', 'opa-cold']) selected.delete(n);

const cores = os.cpus().length;
const pinning = cpuPinning(values['server-cpus'], values['client-cpus']);
const started = new Date();
const startLoad = os.loadavg().map((l) => Math.round(l * 100) / 100);
const log = (msg) =>
  process.stderr.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-'));
// An interrupted run takes its servers and load generators with it.
process.on('exit', () => {
  killAllLoadGenerators();
  killAllServers();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
}
const problems = [];
const scenarios = {};
let activationStall;
/** Where ghz and h2load were found, to print their commands as a reader would type them. */
let toolPaths = {};
/** The built OPA-Envoy, when its rows run. */
let peerBin;
/** What warm and cold prepared, for the peer's scenarios to send the same messages. */
const preparedFor = {};

try {
  const ghz = ensureGhz(log);
  const h2load = values['no-h2load'] ? undefined : ensureH2load(log);
  if (!values['no-h2load'] && h2load === undefined)
    problems.push(
      'h2load is not installed and could not be installed (apt-get install nghttp2-client): no h2load cross-check in this run',
    );
  const build = snapshotBuild(workDir);
  const workersSupported = authzdSupportsWorkers();
  log(
    `ghz ${ghz.version} (${ghz.bin}), h2load ${h2load?.version ?? 'unavailable'}, authzd build ${build.fingerprint} (--workers ${workersSupported ? 'supported' : 'not supported'}); work dir ${workDir}`,
  );
  toolPaths = { ghz: ghz.bin, h2load: h2load?.bin };
  const issuer = await createIssuer(workDir);
  let peer;
  if (selected.has('opa-warm') || selected.has('opa-cold')) {
    log(`OPA-Envoy ${OPA_TAG}: finding or building the peer`);
    peer = obtainPeer({ bin: values['opa-bin'], git: values['opa-git'], log });
    if (peer.skipped !== undefined) problems.push(`OPA-Envoy rows skipped: the peer is not available: ${peer.skipped}`);
    else {
      peerBin = peer.bin;
      log(`OPA-Envoy: ${peer.bin}`);
    }
  }
  const ctx = { ghz, h2load, issuer, peer };

  for (const def of SCENARIOS) {
    if (!selected.has(def.name)) continue;
    if (def.name === 'activation-stall') {
      log('activation stall');
      try {
        const halfOf1000 = scenarios['policies-1000']?.saturation?.rps;
        activationStall = await measureActivationStall({
          ghz,
          issuer,
          workDir,
          serverCpus: pinning.server,
          clientCpus: pinning.client,
          concurrency: opts.concurrency,
          connections: opts.connections,
          rate: halfOf1000 === undefined ? undefined : Math.max(1, Math.round(halfOf1000 / 2)),
          activations: opts.activations,
          log,
        });
        activationStall.command = sanitize(activationStall.argv);
        delete activationStall.argv;
        if (activationStall.rejected > 0)
          problems.push(`activation stall: ${activationStall.rejected} re-activations were rejected`);
        for (const p of activationStall.crossCheck.problems) problems.push(`activation stall: ghz: ${p}`);
        log(`activation stall: worst ${activationStall.worstStallMs.toFixed(1)} ms`);
      } catch (err) {
        activationStall = { error: String(err?.message ?? err) };
        problems.push(`activation stall failed: ${activationStall.error}`);
        log(`activation stall failed: ${err?.stack ?? err}`);
      }
      continue;
    }
    if (def.name.startsWith('opa-') && peer?.skipped !== undefined) {
      scenarios[def.name] = { name: def.name, title: def.title, skipped: `skipped: ${peer.skipped}` };
      continue;
    }
    if (def.name.startsWith('workers-') && !workersSupported) {
      scenarios[def.name] = {
        name: def.name,
        title: def.title,
        skipped: 'not supported: `authzd serve --help` lists no --workers',
      };
      log(`${def.name}: not supported (authzd serve --help lists no --workers)`);
      continue;
    }
    log(`${def.name}: preparing`);
    try {
      const prepared = await prepare(def.name, ctx);
      scenarios[def.name] = await runLoadScenario(def, prepared, ctx);
      const sat = scenarios[def.name].saturation;
      log(
        `${def.name}: ${Math.round(sat.rps)} calls/s, p99 ${sat.latencyMs.p99.toFixed(2)} ms, half p99 ${scenarios[def.name].half.latencyMs.p99.toFixed(2)} ms`,
      );
    } catch (err) {
      scenarios[def.name] = { name: def.name, title: def.title, error: String(err?.message ?? err) };
      problems.push(`${def.name} failed: ${scenarios[def.name].error.split('\n')[0]}`);
      log(`${def.name} failed: ${err?.stack ?? err}`);
    }
  }

  for (const s of Object.values(scenarios)) for (const p of s.problems ?? []) problems.push(`${s.name}: ${p}`);
  const finished = new Date();
  const results = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    elapsedMinutes: (finished.getTime() - started.getTime()) / 60_000,
    options: { ...opts, only: values.only ?? null, command: commandLine() },
    machine: describeMachine(),
    tools: {
      ghz: ghz.version,
      h2load: h2load === undefined ? null : `nghttp2/${h2load.version}`,
      opaEnvoy: peer?.bin === undefined ? null : `opa-envoy-plugin ${OPA_TAG} (${goVersion()})`,
    },
    pinning,
    workers: { supported: workersSupported },
    build: { fingerprint: build.fingerprint },
    scenarios,
    activationStall,
    problems,
    commands: exampleCommands(scenarios),
  };
  results.machine.loadAverage = startLoad;
  results.targets = evaluateTargets(results);

  const resultsDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = path.join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const section = renderLoadSection(results);
  if (!values['no-docs']) {
    const docFile = path.join(ROOT, 'docs', 'BENCHMARKS.md');
    writeFileSync(docFile, replaceSection(readFileSync(docFile, 'utf8'), 'load', section));
  }
  process.stdout.write(
    `${section}\n\nresults: ${path.relative(process.cwd(), resultsFile)}${values['no-docs'] ? '' : ' (docs/BENCHMARKS.md updated)'}\n`,
  );
} finally {
  if (values.keep) log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------

function commandLine() {
  const args = process.argv.slice(2);
  return args.length === 0 ? 'npm run bench' : `npm run bench -- ${args.join(' ')}`;
}

/** A command as a reader would type it: repository-relative paths, placeholders for temporary ones. */
function sanitize(argv) {
  return argv
    .map((a) => {
      let s = String(a);
      if (s === process.execPath) return 'node';
      if (s === toolPaths.ghz) return 'ghz';
      if (s === toolPaths.h2load) return 'h2load';
      s = s.split(`${workDir}/app/`).join('').split(workDir).join('$WORK').split(`${ROOT}/`).join('');
      return /[\s'"$]/.test(s) && !s.startsWith('$WORK') ? `'${s}'` : s;
    })
    .join(' ');
}

function exampleCommands(all) {
  const warm = all.warm ?? Object.values(all).find((s) => s.server?.kind === 'authzd');
  const out = [];
  if (all.null?.server !== undefined) out.push('# the null server (transport ceiling)', all.null.server.command);
  if (warm?.saturation !== undefined) {
    out.push('# authzd', warm.server.command);
    out.push('# saturation', warm.saturation.command);
    out.push('# half saturation', warm.half.command);
    if (warm.h2load?.command !== undefined)
      out.push('# h2load cross-check (body: one gRPC-framed CheckRequest)', warm.h2load.command);
  }
  if (all['opa-warm']?.server?.command !== undefined)
    out.push(
      '# OPA-Envoy, the peer (policy.rego and data.json: bench/lib/opa-envoy-peer.mjs)',
      all['opa-warm'].server.command,
    );
  if (activationStall?.command !== undefined)
    out.push('# activation stall (plus SIGHUP to authzd after changing a policy file)', activationStall.command);
  return out;
}

function describeRequest(bytes) {
  const http = decodeCheckRequest(bytes).attributes.request.http;
  return `${http.method} ${http.path}`;
}

/** Policy directory, request mixes and server options of one scenario. */
async function prepare(name, ctx) {
  const prepared = await prepareScenario(name, ctx);
  if (name === 'warm' || name === 'cold') preparedFor[name] = prepared;
  return prepared;
}

async function prepareScenario(name, ctx) {
  const { issuer } = ctx;
  const dir = path.join(workDir, name);
  switch (name) {
    case 'opa-warm':
    case 'opa-cold': {
      // The same messages as authzd's scenario (prepared again if it did not run), and the Rego data made from
      // the same entity store and key set. Each server is a fresh process, so cold tokens are new to each.
      const of = name.slice('opa-'.length);
      const mine = preparedFor[of] ?? (await prepareScenario(of, ctx));
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'data.json'),
        JSON.stringify(regoData(mine.files, readFileSync(issuer.jwksFile, 'utf8'))),
      );
      return { ...mine, kind: 'opa', peerDir: dir, evaluatesEveryCall: false };
    }
    case 'null': {
      const messages = await warmMessages(issuer);
      return { kind: 'null', pool: messages.map((m) => ({ bytes: m.bytes, expect: 'allow|ok' })), h2loadIndex: 0 };
    }
    case 'warm':
    case 'workers-1':
    case 'workers-2': {
      const files = warmPolicyFiles();
      writePolicySet(dir, files);
      const workers = name === 'warm' ? undefined : Number(name.slice(-1));
      return {
        kind: 'authzd',
        policyDir: dir,
        files,
        workers,
        pool: await warmMessages(issuer),
        preflight: 'all',
        h2loadIndex: 0,
      };
    }
    case 'deny-heavy': {
      writePolicySet(dir, warmPolicyFiles());
      const pool = await denyHeavyMessages(issuer);
      return {
        kind: 'authzd',
        policyDir: dir,
        pool,
        preflight: 'all',
        h2loadIndex: pool.findIndex((m) => m.expect === 'deny|policy_denied'),
      };
    }
    case 'policies-10':
    case 'policies-1000':
    case 'entities-100k': {
      const [policies, entities] = {
        'policies-10': [10, 1000],
        'policies-1000': [1000, 1000],
        'entities-100k': [1000, 100_000],
      }[name];
      const { files, layout } = generatePolicySet({ policies, entities });
      writePolicySet(dir, files);
      return {
        kind: 'authzd',
        policyDir: dir,
        pool: await generatedSetMessages(issuer, layout),
        preflight: 'all',
        h2loadIndex: 0,
        evaluatesEveryCall: true,
      };
    }
    case 'cold':
      return prepareCold(dir, ctx);
    default:
      throw new Error(`no scenario ${name}`);
  }
}

/**
 * Cold needs a distinct token for every call of every run on its server, so the number of calls must be
 * bounded before the server starts: by the null server's and the warm scenario's saturation throughput in
 * this run (no authzd call is cheaper than a null one, nor a cold one than a warm one; the larger of the
 * two absorbs noise), or by a short probe when neither ran. Runs that still exceed their segment are
 * reported as having repeated tokens.
 */
async function prepareCold(dir, { ghz, issuer }) {
  let ceiling = Math.max(scenarios.null?.saturation?.rps ?? 0, scenarios.warm?.saturation?.rps ?? 0) || undefined;
  if (ceiling === undefined) {
    log('cold: probing warm throughput to size the token pool');
    const probeDir = path.join(workDir, 'cold-probe');
    writePolicySet(probeDir, warmPolicyFiles());
    const pool = await warmMessages(issuer);
    const binFile = path.join(workDir, 'cold-probe.bin');
    writeFileSync(binFile, lengthDelimited(pool.map((m) => m.bytes)));
    const server = await startServer({
      kind: 'authzd',
      cpus: pinning.server,
      policyDir: probeDir,
      issuer,
      workDir,
      name: 'cold-probe',
    });
    try {
      const run = await runGhz(ghz, {
        target: server.grpcAddr,
        binFile,
        durationS: 3,
        concurrency: opts.concurrency,
        connections: opts.connections,
        cpus: pinning.client,
        outFile: path.join(workDir, 'cold-probe.json'),
      });
      ceiling = run.report.okCount / run.report.seconds;
    } finally {
      await server.stop();
    }
  }
  const size = (seconds) => Math.ceil(ceiling * seconds * 1.3) + 200;
  const segments = { warmup: size(opts.warmupS), saturation: size(opts.durationS), half: size(opts.durationS / 2) };
  const total = segments.warmup + segments.saturation + segments.half;
  log(
    `cold: signing ${total} distinct tokens (ceiling ${Math.round(ceiling)} calls/s), ${Math.min(total, COLD_ACCOUNT_CAP)} accounts`,
  );
  const files = coldPolicyFiles(total);
  writePolicySet(dir, files);
  const warmup = await coldMessages(issuer, 0, segments.warmup, total);
  const saturation = await coldMessages(issuer, segments.warmup, segments.saturation, total);
  const half = await coldMessages(issuer, segments.warmup + segments.saturation, segments.half, total);
  return {
    kind: 'authzd',
    policyDir: dir,
    files,
    pool: saturation,
    segments: { warmup, saturation, half },
    // Preflight spends warm-up tokens only, so the measured runs still see each token for the first time.
    preflight: 'warmup-sample',
    h2loadSkip: 'skipped: h2load sends one fixed body, so it cannot send a new token on every call',
    coldCeiling: ceiling,
  };
}

/** One scenario on a fresh server: preflight, warm-up, saturation, half saturation, h2load. */
async function runLoadScenario(def, prepared, { ghz, h2load, issuer }) {
  const name = def.name;
  const scenarioProblems = [];
  const serverCpus = serverCpusFor(prepared.workers);
  const loadAverage = os.loadavg()[0];
  const server =
    prepared.kind === 'opa'
      ? await startPeerServer(prepared, serverCpus, name)
      : await startServer({
          kind: prepared.kind,
          cpus: serverCpus,
          policyDir: prepared.policyDir,
          issuer,
          workers: prepared.workers,
          workDir,
          name,
        });
  const peerRun = prepared.kind === 'opa';
  try {
    const activation = server.lines.find((l) => l.msg === 'policy set activated');
    const segments = prepared.segments ?? { warmup: prepared.pool, saturation: prepared.pool, half: prepared.pool };
    const files = {};
    for (const [seg, messages] of Object.entries(segments)) {
      files[seg] = path.join(workDir, `${name}.${seg}.bin`);
      writeFileSync(files[seg], lengthDelimited(messages.map((m) => m.bytes)));
    }

    // Preflight: every distinct message once, alone; its answers are what the counters must show under load.
    let pre;
    let expectations = prepared.pool.map((m) => m.expect);
    if (prepared.preflight !== undefined) {
      const sample = prepared.preflight === 'all' ? prepared.pool : segments.warmup.slice(0, 16);
      const result = peerRun ? await peerPreflight(server.grpcAddr, sample) : await preflight(server.grpcAddr, sample);
      pre = {
        messages: sample.length,
        mix: result.mix,
        designMismatches: result.mismatches.length,
        examples: result.mismatches.slice(0, 3),
      };
      if (result.mismatches.length > 0) {
        scenarioProblems.push(
          `preflight: ${result.mismatches.length} of ${sample.length} messages answered other than designed, e.g. ${result.mismatches
            .slice(0, 3)
            .map((m) => `#${m.index} expected ${m.expected} got ${m.got}`)
            .join('; ')}`,
        );
      }
      if (prepared.preflight === 'all') expectations = result.answers;
      if (peerRun && result.mismatches.length > 0)
        throw new Error(
          `OPA-Envoy and authzd answer ${result.mismatches.length} of ${sample.length} messages differently (e.g. ${JSON.stringify(result.mismatches[0])}): no load before they agree`,
        );
    }
    // The peer has no decision counter: its calls are ghz's, its answers were compared in the preflight.
    if (peerRun) expectations = undefined;

    const base = {
      target: server.grpcAddr,
      concurrency: opts.concurrency,
      connections: opts.connections,
      cpus: pinning.client,
    };
    await runGhz(ghz, {
      ...base,
      binFile: files.warmup,
      durationS: opts.warmupS,
      outFile: path.join(workDir, `${name}.warmup.json`),
    });

    const sat = await measured(server, () =>
      runGhz(ghz, {
        ...base,
        binFile: files.saturation,
        durationS: opts.durationS,
        outFile: path.join(workDir, `${name}.saturation.json`),
      }),
    );
    const saturation = ghzRecord(sat.out, sat, { expectations, concurrency: opts.concurrency, peer: peerRun });
    const rate = Math.max(1, Math.round(saturation.rps / 2));
    const halfRun = await measured(server, () =>
      runGhz(ghz, {
        ...base,
        binFile: files.half,
        durationS: opts.durationS,
        rps: rate,
        outFile: path.join(workDir, `${name}.half.json`),
      }),
    );
    const half = ghzRecord(halfRun.out, halfRun, {
      expectations: prepared.segments ? segments.half.map((m) => m.expect) : expectations,
      concurrency: opts.concurrency,
      rps: rate,
      peer: peerRun,
    });
    // The null server at the same constant rate, for the latency target (p99 within 1.5x of the transport's).
    let nullAtHalf;
    if (name === 'warm' || name === 'cold') {
      const nullServer = await startServer({ kind: 'null', cpus: serverCpus, workDir, name: `${name}-null-at-half` });
      try {
        const run = await measured(nullServer, () =>
          runGhz(ghz, {
            ...base,
            target: nullServer.grpcAddr,
            binFile: files.half,
            durationS: opts.durationS,
            rps: rate,
            outFile: path.join(workDir, `${name}.null-at-half.json`),
          }),
        );
        nullAtHalf = ghzRecord(run.out, run, { expectations: undefined, concurrency: opts.concurrency, rps: rate });
      } finally {
        await nullServer.stop();
      }
    }
    for (const [label, run] of [
      ['saturation', saturation],
      ['half saturation', half],
    ]) {
      for (const p of [...run.crossCheck.problems, ...(run.mix?.problems ?? [])])
        scenarioProblems.push(`ghz ${label}: ${p}`);
      for (const n of run.mix?.notes ?? []) scenarioProblems.push(`note: ghz ${label}: ${n}`);
      const errors = Object.entries(run.errors);
      if (errors.length > 0)
        scenarioProblems.push(`ghz ${label}: failed calls: ${errors.map(([e, n]) => `${n} x ${e}`).join('; ')}`);
    }
    // A server that did not use (nearly) all its CPUs at saturation was not what limited throughput.
    const serverCpuCount = cpuCount(serverCpus) || cores;
    if (saturation.server.cores < SATURATED_CORES * serverCpuCount) {
      scenarioProblems.push(
        `warning: the server used ${saturation.server.cores.toFixed(2)} of its ${serverCpuCount} CPU(s) at saturation (ghz ${saturation.clientCores.toFixed(2)} cores, load average ${loadAverage.toFixed(1)}): the load generator or other work on the machine was the limit, not the server`,
      );
    }
    // The generated sets exist to measure evaluation; a decision cache answering their calls defeats that.
    const decisionHits = saturation.server.caches.decision?.ratio;
    if (prepared.evaluatesEveryCall && decisionHits > 0.05) {
      scenarioProblems.push(
        `warning: the decision cache answered ${(decisionHits * 100).toFixed(0)}% of calls although the generated routes are risk: high; this scenario did not measure evaluation on every call`,
      );
    }
    if (prepared.segments !== undefined) {
      for (const [label, run, seg] of [
        ['saturation', saturation, segments.saturation],
        ['half saturation', half, segments.half],
      ]) {
        if (run.calls > seg.length)
          scenarioProblems.push(
            `${label}: ${run.calls} calls over ${seg.length} distinct tokens, so tokens repeated (the pool was sized from ${Math.round(prepared.coldCeiling)} calls/s)`,
          );
      }
    }

    let h2;
    if (h2load === undefined) h2 = { skipped: values['no-h2load'] ? 'skipped (--no-h2load)' : 'h2load unavailable' };
    else if (prepared.h2loadSkip !== undefined) h2 = { skipped: prepared.h2loadSkip };
    else {
      const message = prepared.pool[prepared.h2loadIndex];
      const bodyFile = path.join(workDir, `${name}.h2load-body.bin`);
      writeFileSync(bodyFile, grpcFrame(message.bytes));
      const inflight = opts.h2loadClients * opts.h2loadStreams;
      const run = await measured(server, () =>
        runH2load(h2load, {
          url: `http://${server.grpcAddr}`,
          bodyFile,
          durationS: opts.durationS,
          clients: opts.h2loadClients,
          streams: opts.h2loadStreams,
          cpus: pinning.client,
          logFile: path.join(workDir, `${name}.h2load.log`),
        }),
      );
      h2 = h2loadRecord(run.out, run, {
        expectation: peerRun ? undefined : expectations[prepared.h2loadIndex],
        inflight,
        peer: peerRun,
      });
      h2.request = `${describeRequest(message.bytes)} (${peerRun ? message.expect.split('|')[0] : expectations[prepared.h2loadIndex]})`;
      for (const p of [...h2.crossCheck.problems, ...(h2.mix?.problems ?? [])]) scenarioProblems.push(`h2load: ${p}`);
      for (const n of h2.mix?.notes ?? []) scenarioProblems.push(`note: h2load: ${n}`);
    }

    const peakRssBytes = treePeakRssBytes(server.pid);
    const withCommand = (run) => {
      if (run === undefined || run.argv === undefined) return run;
      const { argv, ...rest } = run;
      return { ...rest, command: sanitize(argv) };
    };
    return {
      name,
      title: def.title,
      loadAverage,
      server: {
        kind: prepared.kind,
        command: sanitize(server.command),
        cpus: serverCpus,
        workers: prepared.workers,
        sharesCpusWithClient: overlaps(serverCpus, pinning.client),
        startupMs: server.startupMs,
        activationMs: activation?.ms,
        policies: activation?.policies,
        entities: activation?.entities,
        peakRssBytes,
      },
      preflight: pre,
      saturation: withCommand(saturation),
      half: withCommand(half),
      nullAtHalf: withCommand(nullAtHalf),
      h2load: withCommand(h2),
      problems: scenarioProblems,
    };
  } finally {
    await server.stop();
  }
}

/** OPA-Envoy on the prepared messages' data, with the interface startServer's servers have. */
async function startPeerServer(prepared, cpus, name) {
  const started = Date.now();
  const peer = await startPeer(peerBin, { cpus, dir: prepared.peerDir, name });
  return { ...peer, lines: [], startupMs: Date.now() - started, scrape: async () => [] };
}

/** The peer's allow/deny for each message, against authzd's design (the decision part of `expect`). */
async function peerPreflight(grpcAddr, messages) {
  return compareAnswers(messages, await decisions(grpcAddr, messages), (m) => m.expect?.split('|')[0]);
}

/** N workers get N CPUs when the machine has them besides the load generator's; otherwise all CPUs. */
function serverCpusFor(workers) {
  if (workers === undefined || workers <= 1 || pinning.server === '') return pinning.server;
  return workers < cores ? `0-${workers - 1}` : `0-${cores - 1}`;
}

function expandCpus(list) {
  return new Set(
    list
      .split(',')
      .filter(Boolean)
      .flatMap((part) => {
        const [lo, hi] = part.split('-').map(Number);
        return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
      }),
  );
}

function cpuCount(list) {
  return expandCpus(list).size;
}

function overlaps(a, b) {
  if (a === '' || b === '') return true;
  const bs = expandCpus(b);
  return [...expandCpus(a)].some((c) => bs.has(c));
}
