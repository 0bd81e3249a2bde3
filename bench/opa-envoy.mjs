// authzd side by side with the reference peer, OPA-Envoy (#15): the same tokens, the same CheckRequests, an
// equivalent Rego policy using io.jwt.decode_verify, decisions compared before any load, then alternating
// rounds of ghz against each (warm mix; cold: a fresh token every call), CPU per call and peak RSS. The null
// server runs in the warm rounds too, as the transport ceiling.
//
//   npm run build && node bench/opa-envoy.mjs [--opa-git DIR|URL] [--opa-bin PATH] [--rounds N] [--no-docs]
//
// The peer is built from source at run time, never vendored: --opa-bin names a built binary; otherwise the
// tag OPA_TAG is taken from --opa-git (a local git directory, bare or not, or a URL to clone; default
// $OPA_ENVOY_GIT or the public repository) and `go build ./cmd/opa-envoy-plugin` runs (a few minutes; the
// Go module proxy serves its dependencies). The binary is kept in $TMPDIR for later runs. When the peer
// cannot be had (no go, no source), the harness says why and exits 0 without measuring: a skip, not a pass.
//
// Writes the section between <!-- opa-envoy:begin --> and <!-- opa-envoy:end --> of docs/BENCHMARKS.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { preflight } from './lib/preflight.mjs';
import { coldMessages, warmMessages, warmPolicyFiles } from './lib/datasets.mjs';
import { writePolicySet } from './generate-policy-set.mjs';
import { lengthDelimited } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureGhz, killAllLoadGenerators, runGhz } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { decisions, goVersion, obtainPeer, OPA_TAG, regoData, startPeer } from './lib/opa-envoy-peer.mjs';
import { treeCpuSeconds, treePeakRssBytes } from './lib/proc-stats.mjs';
import { replaceSection } from './lib/report-markdown.mjs';
import { killAllServers, startServer } from './lib/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    'opa-git': { type: 'string' },
    'opa-bin': { type: 'string' },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    'cold-calls': { type: 'string', default: '6000' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '4' },
    'no-docs': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const COLD_CALLS = Number(values['cold-calls']);
const started = new Date();
const log = (msg) =>
  process.stderr.write(`[opa-envoy ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const skip = (why) => {
  process.stdout.write(`opa-envoy: skipped, the peer is not available: ${why}\n`);
  process.exit(0);
};

// ---------------------------------------------------------------------------------------------------------

const peer = obtainPeer({ bin: values['opa-bin'], git: values['opa-git'], log });
if (peer.skipped !== undefined) skip(peer.skipped);
const { bin } = peer;
const ghz = ensureGhz(log);
const pinning = cpuPinning(undefined, undefined);
const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-opa-envoy-'));
process.on('exit', () => {
  killAllLoadGenerators();
  killAllServers();
});
const issuer = await createIssuer(workDir);
const files = warmPolicyFiles();
const policyDir = path.join(workDir, 'policies');
writePolicySet(policyDir, files);
writeFileSync(path.join(workDir, 'data.json'), JSON.stringify(regoData(files, readFileSync(issuer.jwksFile, 'utf8'))));
const warm = await warmMessages(issuer);
log(`${warm.length} warm messages; signing ${COLD_CALLS * ROUNDS * 2 + 200} cold tokens`);
const coldPools = [];
for (let i = 0; i < ROUNDS * 2; i++) coldPools.push(await coldMessages(issuer, i * COLD_CALLS, COLD_CALLS, 400));
const coldSample = await coldMessages(issuer, ROUNDS * 2 * COLD_CALLS, 200, 400);
const binFile = (name, pool) => {
  const file = path.join(workDir, `${name}.bin`);
  writeFileSync(file, lengthDelimited(pool.map((m) => m.bytes)));
  return file;
};

const servers = {
  null: () => startServer({ kind: 'null', cpus: pinning.server, workDir, name: 'null' }),
  authzd: () => startServer({ kind: 'authzd', cpus: pinning.server, policyDir, issuer, workDir, name: 'authzd' }),
  'OPA-Envoy': () => startPeer(bin, { cpus: pinning.server, dir: workDir, name: 'opa' }),
};

// Equal answers first: every warm message and a sample of cold ones, alone, against both.
{
  const a = await servers.authzd();
  const o = await servers['OPA-Envoy']();
  try {
    const sample = [...warm, ...coldSample];
    const [fromA, fromO] = [await decisions(a.grpcAddr, sample), await decisions(o.grpcAddr, sample)];
    const differ = sample.map((m, i) => ({ i, expect: m.expect, authzd: fromA[i], opa: fromO[i] }));
    const bad = differ.filter((d) => d.authzd !== d.opa || !d.expect.startsWith(d.authzd));
    if (bad.length > 0) {
      process.stderr.write(`${JSON.stringify(bad.slice(0, 10))}\n`);
      const reasons = await preflight(
        a.grpcAddr,
        bad.slice(0, 10).map((d) => sample[d.i]),
      );
      process.stderr.write(`authzd's reasons: ${JSON.stringify(reasons.answers)}\n`);
      throw new Error(`${bad.length} of ${sample.length} requests answered differently: no load before they agree`);
    }
    log(`decisions agree on all ${sample.length} requests (${fromA.filter((d) => d === 'allow').length} allowed)`);
  } finally {
    await a.stop();
    await o.stop();
  }
}

const results = [];
for (const scenario of ['warm', 'cold']) {
  const names = scenario === 'warm' ? ['null', 'authzd', 'OPA-Envoy'] : ['authzd', 'OPA-Envoy'];
  const running = {};
  for (const n of names) running[n] = await servers[n]();
  const warmBin = binFile('warm', warm);
  let coldIndex = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order, so neither server always runs first after the other's load.
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const n of order) {
        const server = running[n];
        const file = scenario === 'warm' ? warmBin : binFile(`cold-${coldIndex}`, coldPools[coldIndex++]);
        // A first run warms the server up (JIT, key import): the warm mix for 2 s, or the 200 sample tokens.
        if (round === 0)
          await runGhz(ghz, {
            target: server.grpcAddr,
            binFile: scenario === 'warm' ? file : binFile('cold-warmup', coldSample),
            ...(scenario === 'warm' ? { durationS: 2 } : { count: coldSample.length }),
            concurrency: 32,
            connections: 4,
            cpus: pinning.client,
            outFile: path.join(workDir, 'warmup.json'),
          });
        const cpu0 = treeCpuSeconds(server.pid);
        const run = await runGhz(ghz, {
          target: server.grpcAddr,
          binFile: file,
          ...(scenario === 'warm' ? { durationS: DURATION_S } : { count: COLD_CALLS }),
          concurrency: Number(values.concurrency),
          connections: Number(values.connections),
          cpus: pinning.client,
          outFile: path.join(workDir, `${scenario}-${n}-${round}.json`),
        });
        const cpu = treeCpuSeconds(server.pid) - cpu0;
        const r = run.report;
        const row = {
          scenario,
          server: n,
          round: round + 1,
          rps: r.okCount / r.seconds,
          errors: r.count - r.okCount,
          cpuUsPerCall: (cpu * 1e6) / r.okCount,
          p99Ms: r.latencyMs?.p99,
          peakRssMiB: treePeakRssBytes(server.pid) / 2 ** 20,
        };
        results.push(row);
        log(
          `${scenario} ${n} round ${round + 1}: ${Math.round(row.rps)} calls/s, ${row.cpuUsPerCall.toFixed(0)} µs CPU/call, peak RSS ${row.peakRssMiB.toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    for (const n of names) await running[n].stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const m = describeMachine();
const rows = [];
for (const scenario of ['warm', 'cold']) {
  const of = (n) => results.filter((r) => r.scenario === scenario && r.server === n);
  const cpuOf = (n) => median(of(n).map((r) => r.cpuUsPerCall));
  for (const n of scenario === 'warm' ? ['null', 'authzd', 'OPA-Envoy'] : ['authzd', 'OPA-Envoy']) {
    const rs = of(n);
    rows.push(
      `| ${scenario} | ${n === 'null' ? 'null server' : n} | ${rs.map((r) => Math.round(r.rps).toLocaleString('en-US')).join(' / ')} | ${rs.map((r) => r.cpuUsPerCall.toFixed(0)).join(' / ')} | ${(cpuOf('OPA-Envoy') / cpuOf(n)).toFixed(2)} | ${Math.max(...rs.map((r) => r.peakRssMiB)).toFixed(0)} | ${rs.reduce((s, r) => s + r.errors, 0)} |`,
    );
  }
}
const section = [
  '<!-- opa-envoy:begin -->',
  `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/opa-envoy.mjs --rounds ${ROUNDS}\` (opa-envoy-plugin ${OPA_TAG} built from source with ${goVersion()}) on ${m.cpu}, ${m.cores} cores, ${m.kernel}, Node ${m.node}; ghz with 32 concurrent calls over 4 connections, servers pinned to CPU ${pinning.server}, ghz to CPU ${pinning.client}; load average at the start ${m.loadAverage.join(' / ')}. Warm: ${DURATION_S} s per run; cold: ${COLD_CALLS.toLocaleString('en-US')} calls per run, each with its own token. Rounds alternate the servers' order.`,
  '',
  '| scenario | server | calls/s per round | server CPU µs/call per round | OPA-Envoy CPU per call ÷ this one (median) | peak RSS MiB | failed calls |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
  '<!-- opa-envoy:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
writeFileSync(path.join(workDir, 'results.json'), JSON.stringify(results, null, 2));
if (!values['no-docs']) {
  const file = path.join(ROOT, 'docs', 'BENCHMARKS.md');
  writeFileSync(file, replaceSection(readFileSync(file, 'utf8'), 'opa-envoy', section));
}
rmSync(workDir, { recursive: true, force: true });
