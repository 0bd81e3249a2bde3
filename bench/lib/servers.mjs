// Starting and stopping the servers under test: authzd (`authzd serve`, as an operator runs it) and the
// null server, each pinned to the given CPUs with taskset, on loopback ports picked here.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, createWriteStream, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePrometheusText } from './prometheus-text.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NULL_SERVER = path.join(ROOT, 'bench', 'null-server.mjs');
let authzdMain = path.join(ROOT, 'dist', 'cli', 'main.js');

/**
 * Copies the build (dist/, proto/, policies/, package.json; node_modules linked) into dir and runs authzd
 * from there from now on, so one run measures one build even when dist/ is rebuilt while it runs (the
 * checkout is shared). Returns the copy's root and a fingerprint of its dist/ (sha256 of names and contents).
 */
export function snapshotBuild(dir) {
  const app = path.join(dir, 'app');
  mkdirSync(app, { recursive: true });
  for (const name of ['dist', 'proto', 'policies', 'package.json'])
    cpSync(path.join(ROOT, name), path.join(app, name), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  authzdMain = path.join(app, 'dist', 'cli', 'main.js');
  const hash = createHash('sha256');
  const files = readdirSync(path.join(app, 'dist'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
  for (const f of files) hash.update(path.relative(app, f)).update('\0').update(readFileSync(f)).update('\0');
  return { app, fingerprint: `sha256:${hash.digest('hex').slice(0, 12)}` };
}

/** Server processes started here and not yet stopped, so an interrupted run leaves none behind. */
const live = new Set();

/** Kills every server this process started that is still running (for signal and exit handlers). */
export function killAllServers() {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** A loopback port that was free a moment ago (the server binds it right after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a usage text lists `flag` as an option (at the start of a line, as `authzd serve --help` does). */
export function helpListsFlag(help, flag) {
  return new RegExp(`^\\s*${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'm').test(help);
}

/** Whether this build's `authzd serve --help` offers --workers (builds before the worker change do not). */
export function authzdSupportsWorkers() {
  return helpListsFlag(
    execFileSync(process.execPath, [authzdMain, 'serve', '--help'], { encoding: 'utf8' }),
    '--workers',
  );
}

/** taskset prefix for a CPU list such as "0" or "1-3"; none when the list is empty. */
export const pinned = (cpus, argv) => (cpus ? ['taskset', '-c', cpus, ...argv] : argv);

/**
 * Starts a server and waits until /readyz answers 200. kind "authzd" needs issuer and either policyDir or,
 * in extraArgs, a bundle source (--bundle-url ...); the audit log goes to /dev/null (its serialisation and
 * write calls are still paid, the disk is not). nodeArgs go to node before authzd's own arguments.
 */
/**
 * Settings every authzd server of this run gets (bench/run.mjs --engine): the Cedar evaluator that decides,
 * and the fraction of decisions shadow-verified by cedar-wasm (the sidecar's defaults unless set).
 */
export const serverSettings = { engine: undefined, verifySample: undefined };

export async function startServer({
  kind,
  cpus,
  policyDir,
  issuer,
  workers,
  workDir,
  name,
  extraArgs = [],
  nodeArgs = [],
  readyTimeoutMs = 300_000,
}) {
  const grpcPort = await freePort();
  const adminPort = await freePort();
  const grpcAddr = `127.0.0.1:${grpcPort}`;
  const adminAddr = `127.0.0.1:${adminPort}`;
  let argv;
  if (kind === 'null') argv = [process.execPath, NULL_SERVER, '--grpc-addr', grpcAddr, '--admin-addr', adminAddr];
  else {
    const configFile = path.join(workDir, `${name}.authzd.yaml`);
    const { engine, verifySample } = serverSettings;
    writeFileSync(
      configFile,
      'audit:\n  destination: /dev/null\nlog:\n  level: info\n' +
        (engine !== undefined ? `policies:\n  engine: ${engine}\n` : '') +
        (verifySample !== undefined ? `engine:\n  verifySample: ${verifySample}\n` : ''),
    );
    argv = [
      process.execPath,
      ...nodeArgs,
      authzdMain,
      'serve',
      '--config',
      configFile,
      ...(policyDir !== undefined ? ['--policies', policyDir] : []),
      '--issuer',
      issuer.issuer,
      '--audience',
      issuer.audience,
      '--jwks',
      issuer.jwksFile,
      '--grpc-addr',
      grpcAddr,
      '--admin-addr',
      adminAddr,
      ...(workers !== undefined ? ['--workers', String(workers)] : []),
      ...extraArgs,
    ];
  }
  const command = pinned(cpus, argv);
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const logFile = path.join(workDir, `${name}.server.log`);
  const log = createWriteStream(logFile);
  const lines = [];
  const lineListeners = new Set();
  let partial = '';
  child.stderr.on('data', (chunk) => {
    log.write(chunk);
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop();
    for (const line of parts) {
      let parsed;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { msg: line };
      }
      parsed.receivedAt = Date.now();
      lines.push(parsed);
      for (const l of lineListeners) l(parsed);
    }
  });
  let exited;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));

  const adminUrl = `http://${adminAddr}`;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(
        `${name}: server exited (${exited.code ?? exited.signal}) before it was ready; log: ${logFile}\n${lines
          .slice(-5)
          .map((l) => l.msg + (l.err ? `: ${l.err}` : ''))
          .join('\n')}`,
      );
    }
    if (Date.now() - started > readyTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${name}: not ready after ${readyTimeoutMs} ms; log: ${logFile}`);
    }
    try {
      const res = await fetch(`${adminUrl}/readyz`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }

  return {
    pid: child.pid,
    grpcAddr,
    adminUrl,
    command,
    logFile,
    lines,
    startupMs: Date.now() - started,
    onLine(listener) {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
    async scrape() {
      const res = await fetch(`${adminUrl}/metrics`);
      return parsePrometheusText(await res.text());
    },
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(timer);
      }
      log.end();
      return exited;
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
