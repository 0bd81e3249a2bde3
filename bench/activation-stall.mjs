// The event-loop stall while a 1,000-policy set activates under load.
//
//   npm run build && node bench/activation-stall.mjs [--activations 5] [--steady 3] [--rate N]
//
// authzd serves a generated set (bench/generate-policy-set.mjs, 1,000 policies, 1,000 entities) under a
// moderate constant ghz load (--rate, default half of a short saturation probe). --activations times, a
// policy file is changed (so the directory is a new version) and authzd gets SIGHUP, which re-reads and
// activates the directory; after each activation the load runs --steady seconds undisturbed. The stall is measured from the client (the slowest call overlapping each
// activation, minus the steady-state median) and from the server (nodejs_eventloop_lag_max_seconds, scraped
// every 250 ms; the activation log line's `ms` is shown beside it). bench/run.mjs runs this as a scenario.
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generatePolicySet, writePolicySet } from './generate-policy-set.mjs';
import { generatedSetMessages } from './lib/datasets.mjs';
import { lengthDelimited } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureGhz, killAllLoadGenerators, runGhz } from './lib/load-tools.mjs';
import { crossCheckCounts } from './lib/cross-check.mjs';
import { decisionCounts, waitQuiet } from './lib/measure.mjs';
import { diffCounts, sumSamples } from './lib/prometheus-text.mjs';
import { killAllServers, sleep, snapshotBuild, startServer } from './lib/servers.mjs';
import { analyzeStall } from './lib/stall-analysis.mjs';

export const STALL_POLICIES = 1000;
export const STALL_ENTITIES = 1000;

export async function measureActivationStall({
  ghz,
  issuer,
  workDir,
  serverCpus,
  clientCpus,
  concurrency,
  connections,
  rate,
  activations = 5,
  steadyS = 3,
  workers,
  log = () => {},
}) {
  const policyDir = path.join(workDir, 'stall-policies');
  const { files, layout } = generatePolicySet({ policies: STALL_POLICIES, entities: STALL_ENTITIES });
  writePolicySet(policyDir, files);
  const messages = await generatedSetMessages(issuer, layout);
  const binFile = path.join(workDir, 'stall.bin');
  writeFileSync(binFile, lengthDelimited(messages.map((m) => m.bytes)));

  const server = await startServer({
    kind: 'authzd',
    cpus: serverCpus,
    policyDir,
    issuer,
    workers,
    workDir,
    name: 'stall',
  });
  let ghzProcess;
  let scraping = true;
  try {
    const target = server.grpcAddr;
    if (rate === undefined) {
      const probe = await runGhz(ghz, {
        target,
        binFile,
        durationS: 3,
        concurrency,
        connections,
        cpus: clientCpus,
        outFile: path.join(workDir, 'stall.probe.json'),
      });
      rate = Math.max(1, Math.round(probe.report.okCount / probe.report.seconds / 2));
      log(`activation stall: probe ${Math.round(probe.report.rps)} calls/s, driving ${rate} calls/s`);
    }
    const cedarFile = path.join(
      policyDir,
      readdirSync(policyDir).find((n) => n.endsWith('.cedar')),
    );

    // Scrape the event-loop lag all along.
    const lagSamples = [];
    const scraper = (async () => {
      // The first scrape only resets the histogram: it would report the worst delay since start-up.
      await server.scrape();
      let from = Date.now();
      while (scraping) {
        try {
          const samples = await server.scrape();
          const to = Date.now();
          lagSamples.push({
            fromMs: from,
            toMs: to,
            lagMaxMs: sumSamples(samples, 'nodejs_eventloop_lag_max_seconds') * 1000,
          });
          from = to;
        } catch {
          /* keep going */
        }
        await sleep(250);
      }
    })();

    const countersBefore = decisionCounts(await waitQuiet(server));
    // An upper bound only: the run is ended with SIGINT once the last activation has had its steady tail.
    const load = runGhz(ghz, {
      target,
      binFile,
      durationS: 3600,
      concurrency,
      connections,
      rps: rate,
      cpus: clientCpus,
      outFile: path.join(workDir, 'stall.json'),
      onStart: (child) => (ghzProcess = child),
    });
    await sleep(steadyS * 1000);
    const windows = [];
    const rejected = [];
    for (let i = 0; i < activations; i++) {
      const started = Date.now();
      appendFileSync(cedarFile, `\n// bench re-activation ${i + 1} at ${started}\n`);
      const activated = [];
      const stopListening = server.onLine((line) => {
        if (line.msg === 'policy set activated') activated.push(line);
        if (line.msg?.startsWith('policy set rejected')) rejected.push(line);
      });
      process.kill(server.pid, 'SIGHUP');
      const deadline = started + 120_000;
      while (activated.length === 0 && rejected.length === 0 && Date.now() < deadline) await sleep(5);
      // With several serving processes each logs its own activation; give the others a moment.
      await sleep(steadyS * 1000);
      stopListening();
      if (activated.length === 0)
        throw new Error(
          `activation ${i + 1}: no "policy set activated" line within 120 s (${rejected.length} rejected)`,
        );
      windows.push({
        startMs: started,
        // Calls answered right after the loop frees up still belong to the stall.
        endMs: Math.max(...activated.map((l) => l.receivedAt)) + 100,
        logMs: Math.max(...activated.map((l) => Number(l.ms) || 0)),
      });
    }
    ghzProcess?.kill('SIGINT');
    const run = await load;
    scraping = false;
    await scraper;
    // Like every measured run: ghz's count against the server's own (calls cut off by SIGINT are the slack).
    const crossCheck = crossCheckCounts({
      tool: 'ghz',
      clientOk: run.report.okCount,
      serverByKey: diffCounts(countersBefore, decisionCounts(await waitQuiet(server))),
      slack: concurrency,
    });
    const analysis = analyzeStall({ calls: run.report.calls, windows, lagSamples });
    return {
      policies: STALL_POLICIES,
      entities: STALL_ENTITIES,
      rate,
      activationCount: activations,
      steadyS,
      argv: run.argv,
      calls: run.report.count,
      errors: run.report.errors,
      rejected: rejected.length,
      crossCheck,
      ...analysis,
    };
  } finally {
    scraping = false;
    // On failure the ghz run would otherwise go on for its full hour against a stopped server.
    if (ghzProcess !== undefined && ghzProcess.exitCode === null) ghzProcess.kill('SIGKILL');
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      activations: { type: 'string', default: '5' },
      steady: { type: 'string', default: '3' },
      rate: { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      connections: { type: 'string', default: '4' },
      keep: { type: 'boolean', default: false },
      'server-cpus': { type: 'string', default: os.cpus().length > 1 ? '0' : '' },
      'client-cpus': {
        type: 'string',
        default: os.cpus().length > 2 ? `1-${os.cpus().length - 1}` : os.cpus().length === 2 ? '1' : '',
      },
    },
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-stall-'));
  process.on('exit', () => {
    killAllLoadGenerators();
    killAllServers();
  });
  try {
    const ghz = ensureGhz((m) => process.stderr.write(`${m}\n`));
    snapshotBuild(workDir);
    const issuer = await createIssuer(workDir);
    const result = await measureActivationStall({
      ghz,
      issuer,
      workDir,
      serverCpus: values['server-cpus'],
      clientCpus: values['client-cpus'],
      concurrency: Number(values.concurrency),
      connections: Number(values.connections),
      rate: values.rate === undefined ? undefined : Number(values.rate),
      activations: Number(values.activations),
      steadyS: Number(values.steady),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    process.stdout.write(`${JSON.stringify({ ...result, argv: result.argv.join(' ') }, null, 2)}\n`);
    process.stdout.write(`worst stall: ${result.worstStallMs.toFixed(1)} ms (target < 20 ms)\n`);
  } finally {
    if (values.keep) process.stderr.write(`kept ${workDir}\n`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}
