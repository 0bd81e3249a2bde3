// The two load generators: ghz (pinned version, installed with `go install` when missing) and h2load
// (Debian's nghttp2-client, installed with apt-get when missing and running as root).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECK_CALL, CHECK_METHOD, EXT_AUTHZ_PROTO } from './check-requests.mjs';
import { parseGhzReport } from './ghz-report.mjs';
import { parseH2loadLog, parseH2loadSummary } from './h2load-output.mjs';
import { treeCpuSeconds } from './proc-stats.mjs';
import { pinned } from './servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GHZ_MODULE = 'github.com/bojand/ghz/cmd/ghz';
export const GHZ_VERSION = 'v0.120.0';

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function goBin() {
  try {
    const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim();
    if (gobin) return gobin;
    return path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin');
  } catch {
    return path.join(os.homedir(), 'go', 'bin');
  }
}

/** The module version a Go binary was built from (`go version -m`), if go can tell. */
function ghzBuildVersion(bin) {
  try {
    const info = execFileSync('go', ['version', '-m', bin], { encoding: 'utf8' });
    return /^\s*mod\s+github\.com\/bojand\/ghz\s+(\S+)/m.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/** Path of a ghz built from GHZ_VERSION; installs it (`go install`, a few minutes) when missing or different. */
export function ensureGhz(log) {
  const candidates = [process.env.GHZ, path.join(goBin(), 'ghz'), which('ghz')].filter(Boolean);
  for (const bin of candidates) {
    if (existsSync(bin) && ghzBuildVersion(bin) === GHZ_VERSION) return { bin, version: GHZ_VERSION };
  }
  if (which('go') === undefined)
    throw new Error(
      `ghz ${GHZ_VERSION} not found and no Go toolchain to install it (go install ${GHZ_MODULE}@${GHZ_VERSION})`,
    );
  log(`installing ghz: go install ${GHZ_MODULE}@${GHZ_VERSION} (takes a few minutes once)`);
  execFileSync('go', ['install', `${GHZ_MODULE}@${GHZ_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const bin = path.join(goBin(), 'ghz');
  if (!existsSync(bin)) throw new Error(`go install finished but ${bin} is missing`);
  return { bin, version: ghzBuildVersion(bin) ?? GHZ_VERSION };
}

/** Path and version of h2load, installing Debian's nghttp2-client as root when missing; undefined if unavailable. */
export function ensureH2load(log) {
  let bin = which('h2load');
  if (bin === undefined && process.getuid?.() === 0 && which('apt-get') !== undefined) {
    log('installing h2load: apt-get update && apt-get install -y nghttp2-client');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    if (update.status === 0) spawnSync('apt-get', ['install', '-y', 'nghttp2-client'], { stdio: 'ignore', env });
    bin = which('h2load');
  }
  if (bin === undefined) return undefined;
  const version = /nghttp2\/(\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  return { bin, version };
}

/** Load generators still running, so an interrupted run leaves none behind. */
const live = new Set();

export function killAllLoadGenerators() {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** Runs a child to completion, sampling its CPU time from /proc (the last sample before it exits). */
function runSampled(argv, onStart) {
  return new Promise((resolve, reject) => {
    // cwd: ghz resolves --proto and -i against it.
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    onStart?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let cpu = 0;
    const timer = setInterval(() => {
      cpu = treeCpuSeconds(child.pid) ?? cpu;
    }, 200);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, cpuSeconds: cpu });
    });
  });
}

/**
 * One ghz run over the count-delimited messages in binFile (ghz sends message i mod n as call i).
 * rps: a constant-rate run (-r); otherwise as fast as `concurrency` workers go. In-flight calls are
 * waited for at the end (--duration-stop wait), so every call the server answered is in the report.
 * onStart receives the ghz process: SIGINT ends a run early and ghz still writes its report.
 * count: a run of exactly that many calls (-n) instead of durationS (so a pool of fresh tokens is sent once).
 */
export async function runGhz(
  ghz,
  { target, binFile, durationS, count, concurrency, connections, rps, cpus, outFile, onStart },
) {
  const args = [
    '--insecure',
    '--proto',
    EXT_AUTHZ_PROTO,
    '-i',
    'proto',
    '--call',
    CHECK_CALL,
    '-B',
    binFile,
    '-c',
    String(concurrency),
    '--connections',
    String(connections),
    ...(count !== undefined ? ['-n', String(count)] : ['-z', `${durationS}s`, '--duration-stop', 'wait']),
    ...(rps !== undefined ? ['-r', String(rps)] : []),
    '-O',
    'json',
    '-o',
    outFile,
    target,
  ];
  const argv = pinned(cpus, [ghz.bin, ...args]);
  const run = await runSampled(argv, onStart);
  if (run.code !== 0 || !existsSync(outFile)) throw new Error(`ghz failed (${run.code}): ${run.stderr.slice(-500)}`);
  return { argv, report: parseGhzReport(readFileSync(outFile, 'utf8')), clientCpuSeconds: run.cpuSeconds };
}

/** One h2load run posting bodyFile (one gRPC-framed CheckRequest) as every call, for durationS seconds. */
export async function runH2load(h2load, { url, bodyFile, durationS, clients, streams, cpus, logFile }) {
  const args = [
    '-c',
    String(clients),
    '-m',
    String(streams),
    '-t',
    '1',
    '-D',
    String(durationS),
    '-d',
    bodyFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '--log-file',
    logFile,
    `${url}${CHECK_METHOD}`,
  ];
  const argv = pinned(cpus, [h2load.bin, ...args]);
  const run = await runSampled(argv);
  if (run.code !== 0) throw new Error(`h2load failed (${run.code}): ${(run.stderr || run.stdout).slice(-500)}`);
  return {
    argv,
    summary: parseH2loadSummary(run.stdout),
    log: parseH2loadLog(readFileSync(logFile, 'utf8')),
    clientCpuSeconds: run.cpuSeconds,
  };
}
