// The audit event's share of a Check call (#15 item 2): audit.record() of a typical decision (a teller reading
// an account, input included, the default) with the line built by auditLine, next to the same event built
// the way it was before (JSON.stringify of the event object), alternating, CPU per event.
//
//   npm run build && node bench/audit-line.mjs [--records N]
import '../dist/cedar/engine-flags.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { auditLine } from '../dist/audit/audit-line.js';
import { createAuditLog } from '../dist/audit/audit-log.js';
import { CheckPipeline } from '../dist/check/check-pipeline.js';
import { ConfigSchema } from '../dist/config/config-schema.js';
import { CedarWasmEngine } from '../dist/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../dist/engine/policy-store.js';
import { compilePolicyModel } from '../dist/policy/compile-policy-model.js';
import { readPolicyDir } from '../dist/policy/policy-files.js';
import { TokenVerifier } from '../dist/token/token-verifier.js';
import { describeMachine } from './lib/machine.mjs';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' } } });
const N = Number(values.records);
// Many short rounds, the cases alternating within each: on a shared machine a paired comparison (which was
// faster in how many rounds) says more than one long run.
const ROUNDS = 15;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-audit-'));
const { publicKey, privateKey } = await generateKeyPair('ES256');
writeFileSync(
  path.join(dir, 'jwks.json'),
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
);
const ISSUER = 'https://issuer.bench';
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
const pipeline = new CheckPipeline({
  config,
  store,
  engine,
  verifier: new TokenVerifier(config.tokens, { now: Date.now }),
  now: Date.now,
  newId: () => '0d3c2a4e-5b6f-4c7d-8e9f-0a1b2c3d4e5f',
});
const token = await new SignJWT({
  tenant: 'acme',
  scope: 'accounts:read',
  roles: ['teller'],
  email: 'bob@acme.example',
})
  .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
  .setIssuer(ISSUER)
  .setAudience('bank-api')
  .setSubject('bob')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey);
const typical = await pipeline.check({
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3', port_value: 5000 } } },
    request: {
      http: {
        id: '11400427465930417316',
        method: 'GET',
        path: '/accounts/acc-1001',
        host: 'bank.example.com',
        scheme: 'https',
        headers: { authorization: `Bearer ${token}`, 'x-request-id': '2f1c5c8e-7d4c-4b8e-9a51-0c7d3a9e6f10' },
      },
    },
  },
});
if (typical.kind !== 'decision' || !typical.decision.allowed) throw new Error('the typical call was not allowed');

// The event's fields as audit.record() passes them, captured once; the two serializers then run on them.
let line = '';
createAuditLog(config.audit, { stream: { write: (s) => void (line = s) } }).record(typical, 0.000412);
const { log: _log, time, ...fields } = JSON.parse(line);
const cases = {
  'JSON.stringify of the event object (before)': () =>
    `${JSON.stringify({ log: 'audit', time: new Date().toISOString(), ...fields })}\n`,
  'auditLine (precompiled, after)': () => auditLine(new Date().toISOString(), fields),
  'audit.record(), whole, no-op destination (after)': (() => {
    const audit = createAuditLog(config.audit, { stream: { write: () => {} } });
    return () => audit.record(typical, 0.000412);
  })(),
};
// The write itself: audit.record() of 32 events per event-loop turn (as under 32 concurrent calls) to
// /dev/null, one write per event (before) or one per turn (after); CPU of the whole process, thread pool
// included, until the writes are done.
async function recordTurns(batch, events) {
  const audit = createAuditLog(ConfigSchema.parse({ audit: { destination: '/dev/null' } }).audit, { batch });
  await audit.flush();
  const start = process.cpuUsage();
  for (let done = 0; done < events; done += 32) {
    for (let i = 0; i < 32; i++) audit.record(typical, 0.000412);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await audit.close();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / events;
}
const writes = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const batch of [false, true]) {
    const name = batch
      ? 'audit.record() to /dev/null, one write per turn (after)'
      : 'audit.record() to /dev/null, one write per event (before)';
    (writes[name] ??= []).push(await recordTurns(batch, Math.ceil(N / ROUNDS / 32) * 32));
  }
}
if (cases['JSON.stringify of the event object (before)']().length !== cases['auditLine (precompiled, after)']().length)
  throw new Error('the two serializers disagree');
const cpu = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < 1000; i++) fn();
    const start = process.cpuUsage();
    for (let i = 0; i < N / ROUNDS; i++) fn();
    const used = process.cpuUsage(start);
    (cpu[name] ??= []).push(((used.user + used.system) * 1000 * ROUNDS) / N);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SERIALIZE_BEFORE = 'JSON.stringify of the event object (before)';
const WRITE_BEFORE = 'audit.record() to /dev/null, one write per event (before)';
const m = describeMachine();
process.stdout.write(
  [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/audit-line.mjs --records ${N}\` on ${m.cpu}, ${m.cores} cores, Node ${m.node}; load average ${m.loadAverage.join(' / ')}; event ${Buffer.byteLength(line)} bytes.`,
    '',
    '| one typical event | CPU ns (median of the rounds) | ratio to its before | faster than its before in |',
    '| --- | --- | --- | --- |',
    ...Object.entries({ ...cpu, ...writes }).map(([name, xs]) => {
      const before = name.includes('/dev/null') ? writes[WRITE_BEFORE] : cpu[SERIALIZE_BEFORE];
      const wins = xs.filter((x, k) => x < before[k]).length;
      return `| ${name} | ${Math.round(median(xs))} | ${(median(xs) / median(before)).toFixed(2)} | ${name.includes('(before)') ? '' : `${wins} of ${ROUNDS} paired rounds`} |`;
    }),
  ].join('\n') + '\n',
);
