// Where authzd's resident memory goes under the warm load (#15 item 4): after ghz has driven the warm mix
// (example policies, 300 users) at saturation, the server's RSS taken apart from /proc/<pid>/smaps and its
// /metrics: the V8 heap (what V8 has committed, and used), WebAssembly memory (Cedar; V8 reserves each wasm
// memory as one huge mapping, so it is the resident part of the mappings of 4 GiB or more), the node
// binary's code and other file mappings, and the rest (malloc arenas, thread stacks, buffers). Variants of
// node flags run alternately, so a default can be judged on peak RSS and on CPU per call together.
//
//   npm run build && node bench/memory.mjs [--variant LABEL=FLAGS]... [--rounds N] [--duration S]
//        [--baseline DIR] [--engine native|cedar-wasm] [--verify-sample F]
//
// FLAGS are node options separated by spaces, e.g. --variant 'semi4=--max-semi-space-size=4'; NAME=VALUE
// words set the server's environment instead (--variant 'arenas=MALLOC_ARENA_MAX=2'). --baseline DIR adds a
// variant running another build (DIR/dist/cli/main.js, e.g. a worktree of the parent commit) for an A/B.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { warmMessages, warmPolicyFiles } from './lib/datasets.mjs';
import { writePolicySet } from './generate-policy-set.mjs';
import { lengthDelimited } from './lib/grpc-frame.mjs';
import { createIssuer } from './lib/issuer.mjs';
import { ensureGhz, killAllLoadGenerators, runGhz } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { treeCpuSeconds, treePeakRssBytes } from './lib/proc-stats.mjs';
import { killAllServers, serverSettings, startServer } from './lib/servers.mjs';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '15' },
    baseline: { type: 'string' },
    engine: { type: 'string' },
    'verify-sample': { type: 'string' },
  },
});
serverSettings.engine = values.engine;
serverSettings.verifySample = values['verify-sample'] !== undefined ? Number(values['verify-sample']) : undefined;
const variants = [
  { label: 'default', flags: [], env: {}, words: [] },
  ...(values.variant ?? []).map((v) => {
    const i = v.indexOf('=');
    const words = v
      .slice(i + 1)
      .split(' ')
      .filter(Boolean);
    // NAME=VALUE words are environment variables for the server (MALLOC_ARENA_MAX=2), the rest node flags.
    const isEnv = (w) => /^[A-Z_]+=/.test(w);
    const env = Object.fromEntries(
      words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
    );
    return { label: v.slice(0, i), flags: words.filter((w) => !isEnv(w)), env, words };
  }),
  ...(values.baseline === undefined
    ? []
    : [
        {
          label: 'baseline',
          flags: [],
          env: {},
          words: [`build at ${values.baseline}`],
          main: path.resolve(values.baseline, 'dist', 'cli', 'main.js'),
        },
      ]),
];
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const MiB = 2 ** 20;
const log = (msg) => process.stderr.write(`[memory] ${msg}\n`);
process.on('exit', () => {
  killAllLoadGenerators();
  killAllServers();
});

/**
 * Resident bytes of the process's mappings, by kind. A wasm memory is the read-write anonymous mapping
 * directly followed by the rest of its reservation (inaccessible, gigabytes): V8 reserves the whole
 * addressable size plus guard regions and makes only the grown part accessible.
 */
function smapsBreakdown(pid) {
  const maps = [];
  let current;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      current = { start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], file: head[4], rss: 0 };
      maps.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) current.rss += Number(rss[1]) * 1024;
  }
  const out = { wasm: 0, nodeBinary: 0, otherFiles: 0, anonymous: 0 };
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const reservation =
      next !== undefined && next.start === m.end && next.perms.startsWith('---') && next.end - next.start >= 2n ** 30n;
    if (m.file === '' && m.perms.startsWith('rw') && reservation) out.wasm += m.rss;
    else if (m.file === process.execPath || m.file.endsWith('/node')) out.nodeBinary += m.rss;
    else if (m.file.startsWith('/')) out.otherFiles += m.rss;
    else out.anonymous += m.rss;
  });
  return out;
}

const metric = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

const ghz = ensureGhz(log);
const pinning = cpuPinning(undefined, undefined);
const workDir = mkdtempSync(path.join(os.tmpdir(), 'authzd-memory-'));
const issuer = await createIssuer(workDir);
const policyDir = path.join(workDir, 'policies');
writePolicySet(policyDir, warmPolicyFiles());
const binFile = path.join(workDir, 'warm.bin');
writeFileSync(binFile, lengthDelimited((await warmMessages(issuer)).map((m) => m.bytes)));

const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
    // The server inherits this process's environment when it is spawned.
    const saved = { ...process.env };
    Object.assign(process.env, v.env);
    const server = await startServer({
      kind: 'authzd',
      cpus: pinning.server,
      policyDir,
      issuer,
      workDir,
      name: `${v.label}-${round}`,
      nodeArgs: v.flags,
      main: v.main,
    });
    for (const name of Object.keys(v.env)) if (saved[name] === undefined) delete process.env[name];
    Object.assign(process.env, saved);
    try {
      const idleRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;
      const cpu0 = treeCpuSeconds(server.pid);
      const run = await runGhz(ghz, {
        target: server.grpcAddr,
        binFile,
        durationS: DURATION_S,
        concurrency: 32,
        connections: 4,
        cpus: pinning.client,
        outFile: path.join(workDir, 'ghz.json'),
      });
      const cpuUs = ((treeCpuSeconds(server.pid) - cpu0) * 1e6) / run.report.okCount;
      const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text();
      const parts = smapsBreakdown(server.pid);
      const row = {
        label: v.label,
        idleRss,
        peakRss: treePeakRssBytes(server.pid) / MiB,
        rss: metric(metrics, 'process_resident_memory_bytes') / MiB,
        heapTotal: metric(metrics, 'nodejs_heap_size_total_bytes') / MiB,
        heapUsed: metric(metrics, 'nodejs_heap_size_used_bytes') / MiB,
        external: metric(metrics, 'nodejs_external_memory_bytes') / MiB,
        wasm: parts.wasm / MiB,
        code: parts.nodeBinary / MiB,
        files: parts.otherFiles / MiB,
        anonymous: parts.anonymous / MiB,
        cpuUs,
        rps: run.report.okCount / run.report.seconds,
      };
      rows.push(row);
      log(`${v.label} round ${round + 1}: peak ${row.peakRss.toFixed(0)} MiB, ${cpuUs.toFixed(0)} µs CPU/call`);
    } finally {
      await server.stop();
    }
  }
}
rmSync(workDir, { recursive: true, force: true });

const m = describeMachine();
const f = (x) => x.toFixed(0);
process.stdout.write(
  [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/memory.mjs ${process.argv.slice(2).join(' ')}\` on ${m.cpu}, ${m.cores} cores, Node ${m.node}; ghz warm mix at saturation for ${DURATION_S} s per run; engine ${values.engine ?? 'native (default)'}, engine.verifySample ${values['verify-sample'] ?? '0.01 (default)'}; load average ${m.loadAverage.join(' / ')}.`,
    '',
    '| node flags / environment | round | RSS when ready MiB | peak RSS MiB | RSS after load | V8 heap committed (used) | wasm (Cedar) | node binary code | other files | other anonymous (anonymous RSS minus the V8 heap committed: malloc, stacks, buffers) | external (buffers) | calls/s | CPU µs/call |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r, i) =>
        `| ${r.label === 'default' ? 'none' : variants.find((v) => v.label === r.label).words.join(' ')} | ${Math.floor(i / variants.length) + 1} | ${f(r.idleRss)} | ${f(r.peakRss)} | ${f(r.rss)} | ${f(r.heapTotal)} (${f(r.heapUsed)}) | ${f(r.wasm)} | ${f(r.code)} | ${f(r.files)} | ${f(r.anonymous - r.heapTotal)} | ${f(r.external)} | ${f(r.rps)} | ${f(r.cpuUs)} |`,
    ),
  ].join('\n') + '\n',
);
