// Costs of the decision log's replay inputs and shipping (docs/audit.md):
//  1. the size of a typical audit event with and without `input` (and hashed);
//  2. the Check path's cost of audit.record() without inputs, with inputs, and with shipping on (the
//     shipper's offer(): a queue push), and the whole CPU per event when the batches are really POSTed to
//     an HTTP server in another process;
//  3. the speed of `authzd replay` (in-process, and the CLI end to end) on a generated log.
//
//   npm run build && node bench/decision-log.mjs [--records N] [--replay-events N]
import '../dist/cedar/engine-flags.js';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createAuditLog } from '../dist/audit/audit-log.js';
import { DecisionShipper } from '../dist/audit/decision-shipper.js';
import { readLogLines } from '../dist/audit/read-log-lines.js';
import { replayDecisions } from '../dist/audit/replay-decisions.js';
import { CheckPipeline } from '../dist/check/check-pipeline.js';
import { ConfigSchema } from '../dist/config/config-schema.js';
import { compilePolicyModel } from '../dist/policy/compile-policy-model.js';
import { readPolicyDir } from '../dist/policy/policy-files.js';
import { DecisionEngine } from '../dist/engine/decision-engine.js';
import { PolicyStore } from '../dist/engine/policy-store.js';
import { createLogger } from '../dist/telemetry/create-logger.js';
import { TokenVerifier } from '../dist/token/token-verifier.js';
import { CedarWasmEngine } from '../dist/engine/cedar-wasm/cedar-wasm-engine.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, 'replay-events': { type: 'string', default: '20000' } },
});
const RECORDS = Number(values.records);
const REPLAY_EVENTS = Number(values['replay-events']);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-decision-log-'));

// A pipeline on the example policies with a throwaway ES256 issuer, as bench/in-process.mjs sets it up.
const { publicKey, privateKey } = await generateKeyPair('ES256');
writeFileSync(
  path.join(dir, 'jwks.json'),
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
);
const ISSUER = 'https://issuer.bench';
const sign = (claims) =>
  new SignJWT({ tenant: 'acme', scope: 'accounts:read', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience('bank-api')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
const config = ConfigSchema.parse({
  tokens: {
    issuers: [
      { issuer: ISSUER, audiences: ['bank-api'], algorithms: ['ES256'], jwksFile: path.join(dir, 'jwks.json') },
    ],
  },
});
const engine = new CedarWasmEngine({ validateRequests: true });
const store = new PolicyStore(engine);
store.activate(compilePolicyModel(await readPolicyDir(path.join(ROOT, 'policies'))));
let n = 0;
const pipeline = new CheckPipeline({
  config,
  store,
  engine,
  verifier: new TokenVerifier(config.tokens, { now: Date.now }),
  now: Date.now,
  newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
});
const request = (pathname, token) => ({
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3', port_value: 5000 } } },
    request: {
      http: {
        id: '11400427465930417316',
        method: 'GET',
        path: pathname,
        host: 'bank.example.com',
        scheme: 'https',
        headers: {
          authorization: `Bearer ${token}`,
          'x-request-id': '2f1c5c8e-7d4c-4b8e-9a51-0c7d3a9e6f10',
          'user-agent': 'curl/8.5.0',
        },
      },
    },
  },
});
const decide = async (pathname, claims) =>
  pipeline.check(request(pathname, claims === undefined ? '' : await sign(claims)));
// The typical decision: a teller reading an account of their tenant.
const typical = await decide('/accounts/acc-1001', { sub: 'bob', roles: ['teller'], email: 'bob@acme.example' });

const lineOf = (audit) => {
  let line = '';
  const log = createAuditLog(ConfigSchema.parse({ audit }).audit, { stream: { write: (s) => void (line = s) } });
  log.record(typical, 0.000412);
  return line;
};
writeFileSync(path.join(dir, 'salt'), 'bench-salt-0123456789abcdef\n');
const sizes = {
  without: Buffer.byteLength(lineOf({ includeInputs: false })),
  with: Buffer.byteLength(lineOf({})),
  hashed: Buffer.byteLength(lineOf({ hashIdentifiers: true, hashSaltFile: path.join(dir, 'salt') })),
};

/**
 * CPU nanoseconds per call of fn(i), best of three runs (the machine is shared), timed in chunks of 1,000
 * synchronous calls with a turn of the event loop between chunks (untimed), as a sidecar yields between
 * requests: that is when the shipper takes its batches, so queued lines are freed as in production.
 */
async function cpuPerCall(fn, count) {
  const CHUNK = 1000;
  const measure = async () => {
    let cpuUs = 0;
    for (let done = 0; done < count; done += CHUNK) {
      const start = process.cpuUsage();
      for (let i = done; i < done + CHUNK; i++) fn(i);
      const cpu = process.cpuUsage(start);
      cpuUs += cpu.user + cpu.system;
      await new Promise((r) => setImmediate(r));
    }
    return (cpuUs * 1000) / count;
  };
  await measure();
  let best = Infinity;
  for (let run = 0; run < 3; run++) best = Math.min(best, await measure());
  return best;
}

const silent = createLogger('silent');
const noop = { write: () => {} };
const auditWithout = createAuditLog(ConfigSchema.parse({ audit: { includeInputs: false } }).audit, { stream: noop });
const auditWith = createAuditLog(ConfigSchema.parse({}).audit, { stream: noop });
const auditShipping = createAuditLog(ConfigSchema.parse({}).audit, { stream: noop });
const shipConfig = ConfigSchema.parse({
  audit: { ship: { url: 'http://127.0.0.1:1/v1/decisions', tokenEnv: 'UNUSED', batchSize: 500, flushIntervalMs: 10 } },
}).audit.ship;
// A control plane that answers at once (no HTTP): the chunks time only the Check path's part, offer().
const instant = async () => new Response('{"accepted":500}', { status: 200 });
let stubShipped = 0;
let stubDropped = 0;
const stubbed = new DecisionShipper({
  config: shipConfig,
  token: 'x',
  logger: silent,
  fetch: instant,
  onShipped: (k) => (stubShipped += k),
  onDropped: (k) => (stubDropped += k),
});
auditShipping.onEvent((line) => stubbed.offer(line));
stubbed.start();
const hot = {
  withoutInputs: await cpuPerCall((i) => auditWithout.record(typical, i * 1e-9), RECORDS),
  withInputs: await cpuPerCall((i) => auditWith.record(typical, i * 1e-9), RECORDS),
  withShipping: await cpuPerCall((i) => auditShipping.record(typical, i * 1e-9), RECORDS),
};
await stubbed.close();

// Whole cost: the batches POSTed to a server in another process that reads and discards them.
const server = spawn(
  process.execPath,
  [
    '-e',
    `require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(200, {'content-type': 'application/json'}).end('{"accepted":1}')); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
let shipped = 0;
const real = new DecisionShipper({
  config: {
    ...shipConfig,
    url: `http://127.0.0.1:${port}/v1/decisions`,
    flushIntervalMs: 50,
    maxBufferEvents: 1_000_000,
  },
  token: 'x',
  logger: silent,
  onShipped: (k) => (shipped += k),
});
const auditReal = createAuditLog(ConfigSchema.parse({}).audit, { stream: noop });
auditReal.onEvent((line) => real.offer(line));
real.start();
const SHIP_EVENTS = Math.min(RECORDS, 20_000);
/** CPU ns per event of recording `count` events, and the wall time until `finish` resolves. */
async function wholeCost(audit, count, finish = async () => {}) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  // 5,000 decisions a second: bursts of 500 every 100 ms, a busy sidecar's rate rather than a flood.
  for (let i = 0; i < count; i++) {
    audit.record(typical, 0.0004);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 100));
  }
  await finish();
  const cpu = process.cpuUsage(cpu0);
  return { ns: ((cpu.user + cpu.system) * 1000) / count, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}
const baseline = await wholeCost(auditWith, SHIP_EVENTS);
const whole = await wholeCost(auditReal, SHIP_EVENTS, () => real.close());
server.kill();
const endToEnd = whole.ns;
const shipWallMs = whole.ms;

// Replay speed: a log of REPLAY_EVENTS decision events made of real lines (allows, denies, a route deny).
const samples = [
  typical,
  await decide('/accounts/acc-1001', { sub: 'alice', roles: ['customer'] }),
  await decide('/accounts/acc-2001', { sub: 'alice', roles: ['customer'] }),
  await decide('/accounts/acc-1001', { sub: 'carol', roles: ['customer'] }),
  await decide('/nowhere', { sub: 'alice' }),
];
const sampleLines = [];
const collect = createAuditLog(ConfigSchema.parse({}).audit, { stream: { write: (s) => void sampleLines.push(s) } });
for (const s of samples) collect.record(s, 0.0004);
const logFile = path.join(dir, 'decisions.ndjson');
const out = [];
for (let i = 0; i < REPLAY_EVENTS; i++)
  out.push(sampleLines[i % sampleLines.length].replace(/"decision_id":"[^"]+"/, `"decision_id":"d-${i}"`));
writeFileSync(logFile, out.join(''));
const changedFiles = new Map(await readPolicyDir(path.join(ROOT, 'policies')));
changedFiles.set(
  'maintenance.cedar',
  '@id("maintenance")\nforbid (principal, action == Bank::Action::"readAccount", resource);\n',
);
const replayEngine = new CedarWasmEngine({ validateRequests: true });
const set = replayEngine.prepare(compilePolicyModel(changedFiles));
const r0 = process.hrtime.bigint();
const report = await replayDecisions(readLogLines([logFile]), { engine: replayEngine, set });
const replaySeconds = Number(process.hrtime.bigint() - r0) / 1e9;
const replayed =
  report.exact.unchanged + report.exact.allow_to_deny + report.exact.deny_to_allow + report.exact.reason_changed;
const changedDir = path.join(dir, 'changed');
execFileSync('cp', ['-r', path.join(ROOT, 'policies'), changedDir]);
writeFileSync(path.join(changedDir, 'maintenance.cedar'), changedFiles.get('maintenance.cedar'));
const c0 = process.hrtime.bigint();
execFileSync(
  process.execPath,
  [path.join(ROOT, 'dist', 'cli', 'main.js'), 'replay', logFile, '--policies', changedDir, '--output', 'json'],
  { stdio: ['ignore', 'ignore', 'ignore'] },
);
const cliSeconds = Number(process.hrtime.bigint() - c0) / 1e9;

const f = (x, d = 0) => x.toFixed(d);
console.log(`Measured ${new Date().toISOString().slice(0, 10)} with \`node bench/decision-log.mjs --records ${RECORDS} --replay-events ${REPLAY_EVENTS}\` on ${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, Node ${process.versions.node}.

| audit event (a teller reading an account, example policies) | bytes |
| --- | --- |
| without input (audit.includeInputs: false) | ${sizes.without} |
| with input (default) | ${sizes.with} |
| with input, hashIdentifiers | ${sizes.hashed} |

| audit.record() on the Check path, no-op destination | CPU ns/decision |
| --- | --- |
| without input | ${f(hot.withoutInputs)} |
| with input | ${f(hot.withInputs)} |
| with input and shipping on (adds the shipper's offer) | ${f(hot.withShipping)} |

(${stubShipped} events went through the stubbed shipper, ${stubDropped} dropped.)

Shipping end to end: ${SHIP_EVENTS} events recorded and POSTed (fetch) in batches of 500 to a server in another process: ${f(endToEnd)} ns CPU per event in the sidecar process, against ${f(baseline.ns)} ns for recording alone in the same loop: shipping costs ${f(endToEnd - baseline.ns)} ns CPU per event, off the Check path. ${shipped} shipped in ${f(shipWallMs)} ms (${f(shipped / (shipWallMs / 1000))} events/s).

Replay: ${REPLAY_EVENTS} events (${replayed} replayable) against the example policies plus a forbid: ${f(replaySeconds, 2)} s in-process = ${f(REPLAY_EVENTS / replaySeconds)} events/s (${f(replayed / replaySeconds)} engine evaluations/s); the CLI end to end (start, compile, prepare, replay, JSON report): ${f(cliSeconds, 2)} s.`);
