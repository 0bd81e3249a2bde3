// The fully cached warm call against the transport ceiling, for A/B of builds (#15): h2load posting one
// fixed warm CheckRequest (a customer reading their own account: token and decision caches hit), against
// the null server and one or more authzd builds, in rounds whose order rotates, each server fresh and
// pinned like `npm run bench`. Per run: calls/s, server CPU per call, and both as ratios to the null server
// of the same round, which is what a change is judged on (the machine is shared and noisy).
//
//   npm run build && node bench/warm-call.mjs [--build LABEL=DIR]... [--rounds N] [--duration S] [--cpu-prof DIR]
//
// DIR is a checkout whose dist/ is built (default: this one, as "this"). --cpu-prof writes a V8 CPU profile
// of every authzd run into DIR (open it in Chrome DevTools).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { warmMessages, warmPolicyFiles } from './lib/datasets.mjs';
import { decodeCheckRequest } from './lib/check-requests.mjs';
import { writePolicySet } from './generate-policy-set.mjs';
import { grpcFrame } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureH2load, killAllLoadGenerators, runH2load } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { treeCpuSeconds, treePeakRssBytes } from './lib/proc-stats.mjs';
import { killAllServers, startServer } from './lib/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    'cpu-prof': { type: 'string' },
  },
});
const builds = (values.build ?? [`this=${ROOT}`]).map((b) => {
  const [label, dir] = b.split('=');
  return { label, main: path.join(path.resolve(dir), 'dist', 'cli', 'main.js') };
});
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const log = (msg) => process.stderr.write(`[warm-call] ${msg}\n`);
process.on('exit', () => {
  killAllLoadGenerators();
  killAllServers();
});

const h2load = ensureH2load(log);
if (h2load === undefined) {
  process.stdout.write('warm-call: skipped, h2load is not installed (apt-get install nghttp2-client)\n');
  process.exit(0);
}
const pinning = cpuPinning(undefined, undefined);
const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-warm-call-'));
const issuer = await createIssuer(workDir);
const policyDir = path.join(workDir, 'policies');
writePolicySet(policyDir, warmPolicyFiles());
const pool = await warmMessages(issuer);
const message = pool.find((m) => {
  const http = decodeCheckRequest(m.bytes).attributes.request.http;
  return m.expect === 'allow|policy_allowed' && http.method === 'GET' && http.path.startsWith('/accounts/');
});
const bodyFile = path.join(workDir, 'body.bin');
writeFileSync(bodyFile, grpcFrame(message.bytes));

const servers = [{ label: 'null' }, ...builds];
const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = servers.map((_, i) => servers[(i + round) % servers.length]);
  for (const s of order) {
    const server = await startServer({
      kind: s.label === 'null' ? 'null' : 'authzd',
      cpus: pinning.server,
      policyDir,
      issuer,
      workDir,
      name: `${s.label}-${round}`,
      ...(s.main !== undefined ? { main: s.main } : {}),
      ...(values['cpu-prof'] !== undefined && s.main !== undefined
        ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] }
        : {}),
    });
    try {
      const h2 = (durationS) =>
        runH2load(h2load, {
          url: `http://${server.grpcAddr}`,
          bodyFile,
          durationS,
          clients: 4,
          streams: 8,
          cpus: pinning.client,
          logFile: path.join(workDir, 'h2load.log'),
        });
      await h2(2);
      const cpu0 = treeCpuSeconds(server.pid);
      const run = await h2(DURATION_S);
      const cpu = treeCpuSeconds(server.pid) - cpu0;
      const calls = run.summary.succeeded;
      rows.push({
        round,
        label: s.label,
        rps: calls / run.summary.seconds,
        cpuUs: (cpu * 1e6) / calls,
        rssMiB: treePeakRssBytes(server.pid) / 2 ** 20,
      });
      log(
        `round ${round + 1} ${s.label}: ${Math.round(calls / run.summary.seconds)} calls/s, ${((cpu * 1e6) / calls).toFixed(0)} µs CPU/call`,
      );
    } finally {
      await server.stop();
    }
  }
}
rmSync(workDir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const m = describeMachine();
const out = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/warm-call.mjs ${process.argv.slice(2).join(' ')}\` on ${m.cpu}, ${m.cores} cores, Node ${m.node}; h2load 4 clients x 8 streams, ${DURATION_S} s per run, server on CPU ${pinning.server}; load average ${m.loadAverage.join(' / ')}.`,
  '',
  '| server | calls/s per round | throughput ÷ null (median) | CPU µs/call per round | null CPU ÷ this CPU per call (median) | peak RSS MiB |',
  '| --- | --- | --- | --- | --- | --- |',
];
for (const s of servers) {
  const mine = rows.filter((r) => r.label === s.label);
  const ratio = (f) =>
    median(
      mine.map((r) =>
        f(
          r,
          rows.find((n) => n.label === 'null' && n.round === r.round),
        ),
      ),
    );
  out.push(
    `| ${s.label} | ${mine.map((r) => Math.round(r.rps)).join(' / ')} | ${(ratio((r, n) => r.rps / n.rps) * 100).toFixed(0)}% | ${mine.map((r) => r.cpuUs.toFixed(0)).join(' / ')} | ${(ratio((r, n) => n.cpuUs / r.cpuUs) * 100).toFixed(0)}% | ${Math.max(...mine.map((r) => r.rssMiB)).toFixed(0)} |`,
  );
}
process.stdout.write(`${out.join('\n')}\n`);
