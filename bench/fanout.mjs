// Revocation fan-out: how fast one revocation reaches 1,000 followers long-polling the control plane, what a
// parked poll costs a replica in memory, and what one event costs the database. Two set-ups in one run:
//
//   baseline   one replica on the directory store, every follower on it (the embedded default)
//   postgres   two replicas sharing a throwaway PostgreSQL cluster, followers split evenly between them,
//              every revocation posted to the first replica (so half the followers learn of it through
//              LISTEN/NOTIFY on the other)
//
// A follower is a light in-process client doing what a sidecar's revocation follower does:
// GET /v1/revocations?since=SEQ&feed=ID&wait=55, then again from the new SEQ. Nothing else runs.
//
//   npm run build && node bench/fanout.mjs                       # 1,000 followers, 20 events per set-up
//   node bench/fanout.mjs --followers 2000 --events 50 --no-docs
//
// Writes bench/results/fanout-<timestamp>.json and regenerates the section of docs/BENCHMARKS.md between
// <!-- fanout:begin --> and <!-- fanout:end --> (unless --no-docs). Not part of `npm test`.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { describeMachine } from './lib/machine.mjs';
import { summarize } from './lib/percentiles.mjs';
import { replaceSection } from './lib/report-markdown.mjs';
import { startThrowawayPostgres } from './lib/throwaway-postgres.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const ADMIN = 'fanout-admin-token-0123456789abcdef';

const { values: args } = parseArgs({
  options: {
    followers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '20' },
    'no-docs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node bench/fanout.mjs [--followers N] [--events N] [--no-docs]   (npm run build first)');
  process.exit(0);
}
const FOLLOWERS = Number(args.followers);
const EVENTS = Number(args.events);

const log = (msg) => process.stderr.write(`fanout: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function startReplica(work, storeArgs) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'control-plane',
      '--policies',
      path.join(work, 'policies'),
      '--signing-key',
      path.join(work, 'keys', 'signing-key.pem'),
      '--kid',
      'fanout',
      '--addr',
      '127.0.0.1:0',
      ...storeArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AUTHZD_CP_ADMIN_TOKEN: ADMIN } },
  );
  children.add(child);
  let err = '';
  let ready = false;
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c) => {
      if (ready) return;
      err += c;
      const m = /"port":(\d+)[^\n]*"msg":"control plane ready"|"msg":"control plane ready"[^\n]*"port":(\d+)/.exec(err);
      if (m) ready = true;
      if (m) resolve({ child, pid: child.pid, base: `http://127.0.0.1:${m[1] ?? m[2]}` });
    });
    child.once('exit', (code) => reject(new Error(`control plane exited with ${code}:\n${err}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function metrics(base) {
  const { text } = await request(`${base}/metrics`);
  const get = (name) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  return {
    waiters: get('authzd_cp_long_poll_waiters{feed="revocations"}'),
    queries: get('authzd_cp_store_queries_total'),
    heapUsed: get('nodejs_heap_size_used_bytes'),
  };
}
const rssBytes = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

async function waitParked(replicas, expected) {
  for (let i = 0; ; i++) {
    const parked = (await Promise.all(replicas.map((r) => metrics(r.base)))).reduce((s, m) => s + m.waiters, 0);
    if (parked >= expected) return;
    if (i > 2_000) throw new Error(`only ${parked} of ${expected} polls parked`);
    await sleep(10);
  }
}

/** One set-up: replicas started, followers parked, EVENTS revocations timed. */
async function runSetup(name, replicas, db) {
  let running = true;
  const waiting = new Map(); // value -> { t0, times: [] , done }
  const before = await Promise.all(replicas.map(async (r) => ({ rss: rssBytes(r.pid), ...(await metrics(r.base)) })));
  const followers = Array.from({ length: FOLLOWERS }, (_, i) => ({
    base: replicas[i % replicas.length].base,
    since: 0,
    feed: '',
    synced: false,
  }));
  let errors = 0;
  const loops = followers.map(async (f) => {
    while (running) {
      let page;
      try {
        const res = await request(
          `${f.base}/v1/revocations?since=${f.since}${f.feed ? `&feed=${f.feed}` : ''}&wait=${f.synced ? 55 : 0}`,
        );
        page = JSON.parse(res.text);
      } catch {
        errors++;
        await sleep(100);
        continue;
      }
      const at = performance.now();
      if (process.env.FANOUT_DEBUG) log(JSON.stringify(page).slice(0, 300));
      for (const e of page.entries) {
        const w = waiting.get(e.value);
        if (w !== undefined && f.synced) w.times.push(at - w.t0);
      }
      f.since = page.seq;
      f.feed = page.feed;
      f.synced = true;
    }
  });
  // First answers (since=0) come back at once; then every follower parks.
  await waitParked(replicas, FOLLOWERS);
  await sleep(1_000);
  await waitParked(replicas, FOLLOWERS);
  const parked = await Promise.all(replicas.map(async (r) => ({ rss: rssBytes(r.pid), ...(await metrics(r.base)) })));
  const perPoll = (key) => parked.reduce((s, m, i) => s + m[key] - before[i][key], 0) / FOLLOWERS;

  const idleWindowMs = 5_000;
  const idleBefore = await dbCounters(replicas, db);
  await sleep(idleWindowMs);
  const idleAfter = await dbCounters(replicas, db);

  const lastFollower = [];
  const all = [];
  const perEvent = [];
  for (let e = 0; e < EVENTS; e++) {
    const value = `${name}-ev-${e}`;
    const w = { t0: 0, times: [] };
    waiting.set(value, w);
    const c0 = await dbCounters(replicas, db);
    w.t0 = performance.now();
    const res = await request(`${replicas[0].base}/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'jti', value, ttlSeconds: 3600 }),
    });
    if (res.status !== 201) throw new Error(`revoke: ${res.status} ${res.text}`);
    for (let i = 0; w.times.length < FOLLOWERS; i++) {
      if (i > 30_000) throw new Error(`event ${e}: only ${w.times.length} of ${FOLLOWERS} followers notified`);
      await sleep(1);
    }
    await waitParked(replicas, FOLLOWERS);
    const c1 = await dbCounters(replicas, db);
    lastFollower.push(Math.max(...w.times));
    all.push(...w.times);
    perEvent.push({ queries: c1.queries - c0.queries, xacts: c1.xacts - c0.xacts });
    waiting.delete(value);
    await sleep(200);
  }
  running = false;
  // Wake the parked loops so that they exit: one more revocation, not measured.
  await request(`${replicas[0].base}/v1/revocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'jti', value: `${name}-stop`, ttlSeconds: 60 }),
  });
  await Promise.all(loops);
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    name,
    replicas: replicas.length,
    followers: FOLLOWERS,
    events: EVENTS,
    errors,
    lastFollowerMs: summarize(lastFollower),
    everyFollowerMs: summarize(all),
    memoryPerParkedPoll: { rssBytes: perPoll('rss'), heapUsedBytes: perPoll('heapUsed') },
    dbPerEvent: {
      queries: mean(perEvent.map((p) => p.queries)),
      transactions: db === undefined ? 0 : mean(perEvent.map((p) => p.xacts)),
    },
    dbIdlePerSecond: {
      queries: ((idleAfter.queries - idleBefore.queries) * 1000) / idleWindowMs,
      transactions: db === undefined ? 0 : ((idleAfter.xacts - idleBefore.xacts) * 1000) / idleWindowMs,
    },
  };
}

async function dbCounters(replicas, db) {
  const queries = (await Promise.all(replicas.map((r) => metrics(r.base)))).reduce((s, m) => s + m.queries, 0);
  // Committed transactions of the store's database, as PostgreSQL counts them (every statement outside an
  // explicit transaction is one; the psql probe itself is one too, subtracted).
  const xacts =
    db === undefined
      ? 0
      : Number(db.pg.psql(db.name, `SELECT xact_commit FROM pg_stat_database WHERE datname = '${db.name}'`)) - 0;
  return { queries, xacts };
}

async function main() {
  const { generateSigningKeys } = await import(path.join(ROOT, 'dist', 'bundle', 'bundle-keys.js'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'authzd-fanout-'));
  cpSync(path.join(ROOT, 'policies'), path.join(work, 'policies'), {
    recursive: true,
    filter: (src) => path.basename(src) !== 'tests',
  });
  await generateSigningKeys(path.join(work, 'keys'), { alg: 'EdDSA', kid: 'fanout' });
  const results = [];
  try {
    log(`baseline: one replica, directory store, ${FOLLOWERS} followers, ${EVENTS} events`);
    const dirReplica = await startReplica(work, ['--data', path.join(work, 'data')]);
    results.push(await runSetup('directory-1-replica', [dirReplica], undefined));
    dirReplica.child.kill('SIGTERM');

    log(`postgres: two replicas, ${FOLLOWERS} followers split between them, ${EVENTS} events`);
    const pg = await startThrowawayPostgres();
    try {
      pg.psql('postgres', 'CREATE DATABASE fanout');
      const store = ['--store', pg.dsn('fanout'), '--store-pool-size', '4'];
      const replicas = [await startReplica(work, store), await startReplica(work, store)];
      results.push(await runSetup('postgres-2-replicas', replicas, { pg, name: 'fanout' }));
      for (const r of replicas) r.child.kill('SIGTERM');
      await sleep(500);
    } finally {
      await pg.stop();
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
  agent.destroy();

  const report = {
    when: new Date().toISOString(),
    machine: describeMachine(),
    followers: FOLLOWERS,
    events: EVENTS,
    results,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const file = path.join(ROOT, 'bench', 'results', `fanout-${report.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const section = renderSection(report);
  process.stdout.write(`${section}\n`);
  if (!args['no-docs']) {
    const docs = path.join(ROOT, 'docs', 'BENCHMARKS.md');
    writeFileSync(docs, replaceSection(readFileSync(docs, 'utf8'), 'fanout', section));
    log(`docs/BENCHMARKS.md updated; raw results in ${path.relative(ROOT, file)}`);
  }
}

function renderSection(r) {
  const ms = (x) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(0)} ms`);
  const kib = (x) => `${(x / 1024).toFixed(1)} KiB`;
  const m = r.machine;
  const rows = r.results.map(
    (s) =>
      `| ${s.name} | ${s.followers} | ${ms(s.lastFollowerMs.p50)} | ${ms(s.lastFollowerMs.p99)} | ${ms(s.lastFollowerMs.max)} | ${ms(s.everyFollowerMs.p50)} | ${ms(s.everyFollowerMs.p99)} | ${kib(s.memoryPerParkedPoll.rssBytes)} | ${kib(s.memoryPerParkedPoll.heapUsedBytes)} | ${s.dbPerEvent.queries.toFixed(1)} | ${s.dbPerEvent.transactions.toFixed(1)} | ${s.dbIdlePerSecond.queries.toFixed(2)} | ${s.errors} |`,
  );
  const [base, pg] = r.results;
  const ratio = pg !== undefined && base !== undefined ? pg.lastFollowerMs.p99 / base.lastFollowerMs.p99 : Number.NaN;
  return [
    '<!-- fanout:begin -->',
    `Measured ${r.when.slice(0, 16).replace('T', ' ')} UTC on ${m.cpu}, ${m.cores} cores (shared with other work), ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}: ${r.followers} followers, ${r.events} revocations per set-up, one after another.`,
    '',
    '| set-up | followers | revoke → last follower p50 | p99 | max | revoke → each follower p50 | p99 | RSS per parked poll | heap per parked poll | store statements per event | DB transactions per event | store statements per second, idle | follower errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `PostgreSQL with two replicas against the directory baseline, p99 of revoke → last follower: ${Number.isNaN(ratio) ? 'n/a' : `${ratio.toFixed(2)}×`}. Target: p99 under 1 s at 1,000 followers (${pg !== undefined && pg.lastFollowerMs.p99 < 1000 ? 'met' : '**missed**'}).`,
    '<!-- fanout:end -->',
  ].join('\n');
}

main().catch((err) => {
  console.error(err);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
