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
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { CHECK_METHOD, checkMethod } from './lib/check-requests.mjs';
import { preflight } from './lib/preflight.mjs';
import { coldMessages, warmMessages, warmPolicyFiles } from './lib/datasets.mjs';
import { writePolicySet } from './generate-policy-set.mjs';
import { lengthDelimited } from './lib/grpc-frame.mjs';
import { AUDIENCE, createIssuer, ISSUER } from './lib/issuer.mjs';
import { ensureGhz, killAllLoadGenerators, runGhz } from './lib/load-tools.mjs';
import { cpuPinning, describeMachine } from './lib/machine.mjs';
import { treeCpuSeconds, treePeakRssBytes } from './lib/proc-stats.mjs';
import { replaceSection } from './lib/report-markdown.mjs';
import { freePort, killAllServers, pinned, sleep, startServer } from './lib/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPA_TAG = 'v1.19.1-envoy';
const OPA_REPO = 'https://github.com/open-policy-agent/opa-envoy-plugin.git';

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

/** A built opa-envoy-plugin, or the reason there is none. */
function obtainPeer() {
  if (values['opa-bin'] !== undefined)
    return existsSync(values['opa-bin']) ? values['opa-bin'] : skip(`--opa-bin ${values['opa-bin']} does not exist`);
  const cached = path.join(os.tmpdir(), `authzd-opa-envoy-${OPA_TAG}`, 'opa-envoy-plugin');
  if (existsSync(cached)) return cached;
  if (spawnSync('go', ['version']).status !== 0) skip('no Go toolchain (`go`) to build it with');
  const source = values['opa-git'] ?? process.env.OPA_ENVOY_GIT ?? OPA_REPO;
  const src = mkdtempSync(path.join(os.tmpdir(), 'authzd-opa-envoy-src-'));
  try {
    if (existsSync(source)) {
      // A local clone or mirror: the tag's tree, without touching the repository.
      const tar = spawnSync('git', ['--git-dir', gitDir(source), 'archive', OPA_TAG], { maxBuffer: 1 << 30 });
      if (tar.status !== 0) skip(`git archive ${OPA_TAG} from ${source}: ${tar.stderr.toString().trim()}`);
      execFileSync('tar', ['-x', '-C', src], { input: tar.stdout });
    } else {
      const clone = spawnSync('git', ['clone', '--quiet', '--depth', '1', '--branch', OPA_TAG, source, src]);
      if (clone.status !== 0) skip(`git clone ${source} at ${OPA_TAG}: ${clone.stderr.toString().trim()}`);
    }
    log(`building opa-envoy-plugin ${OPA_TAG} (go build, a few minutes)`);
    mkdirSync(path.dirname(cached), { recursive: true });
    const build = spawnSync('nice', ['go', 'build', '-o', cached, './cmd/opa-envoy-plugin'], {
      cwd: src,
      encoding: 'utf8',
    });
    if (build.status !== 0) skip(`go build failed: ${build.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return cached;
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

function gitDir(dir) {
  return existsSync(path.join(dir, '.git')) ? path.join(dir, '.git') : dir;
}

// The example policies (policies/*.cedar) in Rego, as far as the benchmark's requests reach them: bearer token
// verified with io.jwt.decode_verify against the same JWKS (signature, iss, aud, exp), routes matched on method
// and path, the permits and forbids of accounts, transfers and tenants. No rate limits, step-up challenges or
// audit input: see the unfairness notes in docs/BENCHMARKS.md.
const REGO = `package authzd.bench

import rego.v1

default allow := false

http := input.attributes.request.http

token := substring(http.headers.authorization, 7, -1) if startswith(http.headers.authorization, "Bearer ")

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(token, {
		"cert": data.jwks,
		"iss": "${ISSUER}",
		"aud": "${AUDIENCE}",
		"time": time.now_ns(),
	})
	valid
}

parts := split(trim_prefix(http.path, "/"), "/")

roles contains role if some role in claims.roles

scopes := split(object.get(claims, "scope", ""), " ")

account := data.accounts[parts[1]] if parts[0] == "accounts"

# account-owner-read, teller-read (admin is a teller)
allow if {
	http.method == "GET"
	count(parts) == 2
	account.owner == claims.sub
}

allow if {
	http.method == "GET"
	count(parts) == 2
	some role in ["teller", "admin"]
	role in roles
	account.tenant == claims.tenant
}

# owner-transfer, minus frozen-account and transfer-requires-mfa
allow if {
	http.method == "POST"
	count(parts) == 3
	parts[2] == "transfers"
	account.owner == claims.sub
	"payments:write" in scopes
	account.status != "frozen"
	claims.acr == "mfa"
	claims.auth_time + 3600 >= time.now_ns() / 1000000000
}

# admin-export
allow if {
	http.method == "GET"
	count(parts) == 4
	parts[0] == "tenants"
	parts[2] == "customers"
	parts[3] == "export"
	"admin" in roles
	parts[1] == claims.tenant
}

# tenant-admin-billing
allow if {
	http.method in {"PUT", "PATCH"}
	count(parts) == 3
	parts[0] == "tenants"
	parts[2] == "billing-plan"
	"tenant-admin" in roles
	parts[1] == claims.tenant
}
`;

/** The Rego data: the JWKS text and the accounts of the Cedar entity store. */
function regoData(files, jwksText) {
  const accounts = {};
  for (const e of JSON.parse(files.get('entities.json'))) {
    if (e.uid.type !== 'Bank::Account') continue;
    accounts[e.uid.id] = { tenant: e.attrs.tenant, owner: e.attrs.owner.__entity.id, status: e.attrs.status };
  }
  return { jwks: jwksText, accounts };
}

async function startPeer(bin, { cpus, dir, name }) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(path.join(dir, 'policy.rego'), REGO);
  const argv = pinned(cpus, [
    bin,
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${httpPort}`,
    '--log-level',
    'error',
    '--set',
    `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
    '--set',
    'plugins.envoy_ext_authz_grpc.path=authzd/bench/allow',
    '--set',
    'plugins.envoy_ext_authz_grpc.enable-reflection=false',
    // One decision log line per call to stdout, like authzd's audit line (both go to /dev/null here).
    '--set',
    'decision_logs.console=true',
    path.join(dir, 'policy.rego'),
    path.join(dir, 'data.json'),
  ]);
  const out = openSync('/dev/null', 'w');
  const errFile = path.join(dir, `${name}.stderr`);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, openSync(errFile, 'w')] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/health?plugins`);
      if (r.status === 200) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`opa-envoy-plugin did not become ready: ${readFileSync(errFile, 'utf8').slice(-500)}`);
    await sleep(100);
  }
  return {
    pid: child.pid,
    grpcAddr: `127.0.0.1:${grpcPort}`,
    command: argv,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** allow/deny of each message, by the response's gRPC status (OK or not), the one field both servers set. */
async function decisions(grpcAddr, messages) {
  const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure());
  const { responseDeserialize } = checkMethod();
  const call = (bytes) =>
    new Promise((resolve) =>
      client.makeUnaryRequest(
        CHECK_METHOD,
        (b) => b,
        (b) => b,
        bytes,
        (err, response) =>
          resolve(err ? `error: ${err.details}` : responseDeserialize(response).status?.code ? `deny` : 'allow'),
      ),
    );
  const out = [];
  try {
    for (let i = 0; i < messages.length; i += 16)
      out.push(...(await Promise.all(messages.slice(i, i + 16).map((m) => call(m.bytes)))));
  } finally {
    client.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

const bin = obtainPeer();
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
  `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/opa-envoy.mjs --rounds ${ROUNDS}\` (opa-envoy-plugin ${OPA_TAG} built from source with ${execFileSync(
    'go',
    ['version'],
    { encoding: 'utf8' },
  )
    .trim()
    .replace(
      /^go version /,
      '',
    )}) on ${m.cpu}, ${m.cores} cores, ${m.kernel}, Node ${m.node}; ghz with 32 concurrent calls over 4 connections, servers pinned to CPU ${pinning.server}, ghz to CPU ${pinning.client}; load average at the start ${m.loadAverage.join(' / ')}. Warm: ${DURATION_S} s per run; cold: ${COLD_CALLS.toLocaleString('en-US')} calls per run, each with its own token. Rounds alternate the servers' order.`,
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
