// In-process CPU cost of one decision: the Check pipeline called directly (no gRPC), with a warm token
// (the same token every call) and cold tokens (a different token every call), caches off, next to its two
// big parts measured alone in the same run: ES256 signature verification (jose) and one Cedar evaluation;
// then the warm path with the verified-token and decision caches on, as it runs in production.
//
//   npm run build && node bench/in-process.mjs [--iterations N] [--write]
//
// --write replaces the in-process section of docs/BENCHMARKS.md with the results.
import '../dist/cedar/engine-flags.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT } from 'jose';
import { CheckPipeline } from '../dist/check/check-pipeline.js';
import { DecisionCache } from '../dist/check/decision-cache.js';
import { ConfigSchema } from '../dist/config/config-schema.js';
import { compilePolicyModel } from '../dist/policy/compile-policy-model.js';
import { readPolicyDir } from '../dist/policy/policy-files.js';
import { DecisionEngine } from '../dist/engine/decision-engine.js';
import { PolicyStore } from '../dist/engine/policy-store.js';
import { TokenVerifier } from '../dist/token/token-verifier.js';
import { CedarWasmEngine } from '../dist/engine/cedar-wasm/cedar-wasm-engine.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '4000' }, write: { type: 'boolean', default: false } },
});
const N = Number(values.iterations);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-bench-'));
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(jwks));
const ISSUER = 'https://issuer.bench';
const sign = (sub, jti) =>
  new SignJWT({ tenant: 'acme', roles: ['teller'], scope: 'accounts:read', jti })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience('bank-api')
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);

function pipelineFor(validateRequests, caches = false) {
  const config = ConfigSchema.parse({
    policies: { validateRequests },
    cache: caches ? {} : { tokens: { maxEntries: 0 }, decisions: { maxEntries: 0 } },
    tokens: {
      issuers: [
        { issuer: ISSUER, audiences: ['bank-api'], algorithms: ['ES256'], jwksFile: path.join(dir, 'jwks.json') },
      ],
    },
  });
  const engine = new CedarWasmEngine({ validateRequests });
  const store = new PolicyStore(engine);
  return {
    config,
    engine,
    store,
    verifier: new TokenVerifier(config.tokens, { now: Date.now, cache: config.cache.tokens }),
  };
}

const files = await readPolicyDir(path.join(ROOT, 'policies'));
const request = (token) => ({
  attributes: {
    source: { address: { socket_address: { address: '10.1.2.3', port_value: 5000 } } },
    request: {
      http: {
        method: 'GET',
        path: '/accounts/acc-1001',
        host: 'bank.example.com',
        scheme: 'https',
        headers: { authorization: `Bearer ${token}` },
      },
    },
  },
});

/** CPU microseconds per operation (user + system), after a warm-up of the same loop. */
async function cpuPerOp(fn, n) {
  for (let i = 0; i < Math.min(500, n); i++) await fn(i);
  const start = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const cpu = process.cpuUsage(start);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: Number(process.hrtime.bigint() - t0) / 1e3 / n };
}

const warmToken = await sign('bob', 'warm');
const coldTokens = await Promise.all(Array.from({ length: N + 500 }, (_, i) => sign(`user-${i}`, `j${i}`)));
const results = [];

for (const validateRequests of [true, false]) {
  const { config, engine, store, verifier } = pipelineFor(validateRequests);
  store.activate(compilePolicyModel(files));
  let id = 0;
  const pipeline = new CheckPipeline({ config, store, engine, verifier, now: Date.now, newId: () => `b${++id}` });
  const label = validateRequests ? 'schema validation on' : 'schema validation off';
  const check = async (token) => {
    const outcome = await pipeline.check(request(token));
    if (outcome.kind !== 'decision' || !outcome.decision.allowed)
      throw new Error(`unexpected outcome ${JSON.stringify(outcome)}`);
  };
  results.push({ name: `pipeline, warm token (${label})`, ...(await cpuPerOp(() => check(warmToken), N)) });
  let c = 0;
  const coldCheck = async () => {
    const outcome = await pipeline.check(request(coldTokens[c++ % coldTokens.length]));
    if (outcome.kind !== 'decision') throw new Error('no decision');
  };
  results.push({ name: `pipeline, cold token (${label})`, ...(await cpuPerOp(coldCheck, N)) });

  // The engine alone, on the same Cedar request the pipeline builds.
  const set = store.acquire();
  const call = {
    principal: { type: 'Bank::User', id: 'bob' },
    action: { type: 'Bank::Action', id: 'readAccount' },
    resource: { type: 'Bank::Account', id: 'acc-1001' },
    context: {
      request: {
        method: 'GET',
        path: '/accounts/acc-1001',
        host: 'bank.example.com',
        scheme: 'https',
        routeId: 'get-account',
        time: 1,
        sourceIp: { __extn: { fn: 'ip', arg: '10.1.2.3' } },
      },
      token: { iss: ISSUER, sub: 'bob', exp: 2, scope: ['accounts:read'], amr: [], tenant: 'acme' },
    },
    entities: [
      {
        uid: { type: 'Bank::User', id: 'bob' },
        attrs: { tenant: 'acme' },
        parents: [{ type: 'Bank::Role', id: 'teller' }],
      },
      ...set.model.entities.slice(['Bank::Role::"teller"', 'Bank::Account::"acc-1001"']),
    ],
  };
  results.push({
    name: `Cedar evaluation alone (${label})`,
    ...(await cpuPerOp(() => engine.authorize(set, call), N)),
  });
  store.release(set);
}

// The warm path as it runs in production: verified-token and decision caches on.
{
  const { config, engine, store, verifier } = pipelineFor(true, true);
  store.activate(compilePolicyModel(files));
  const cache = new DecisionCache(config.cache.decisions);
  let id = 0;
  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier,
    now: Date.now,
    newId: () => `c${++id}`,
    decisionCache: cache,
  });
  await pipeline.check(request(warmToken)); // fills both caches
  results.push({
    name: 'pipeline, warm token, token and decision caches on',
    ...(await cpuPerOp(async () => {
      const outcome = await pipeline.check(request(warmToken));
      if (outcome.kind !== 'decision' || outcome.decision.source !== 'cache')
        throw new Error('expected a cached decision');
    }, N)),
  });
}

const keySet = createLocalJWKSet(jwks);
results.push({
  name: 'ES256 jwtVerify alone (jose)',
  ...(await cpuPerOp(
    () => jwtVerify(warmToken, keySet, { issuer: ISSUER, audience: 'bank-api', algorithms: ['ES256'] }),
    N,
  )),
});

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, ${os.platform()} ${os.release()}`;
const baseline = results.find((r) => r.name.startsWith('ES256')).cpuUs;
const rows = results.map(
  (r) => `| ${r.name} | ${r.cpuUs.toFixed(1)} | ${r.wallUs.toFixed(1)} | ${(r.cpuUs / baseline).toFixed(2)} |`,
);
const section = [
  '<!-- in-process:begin -->',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`node bench/in-process.mjs --iterations ${N}\` on ${machine}.`,
  '',
  '| operation | CPU µs/op | wall µs/op | ratio to ES256 verify |',
  '| --- | --- | --- | --- |',
  ...rows,
  '<!-- in-process:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
if (values.write) {
  const file = path.join(ROOT, 'docs', 'BENCHMARKS.md');
  const doc = readFileSync(file, 'utf8');
  writeFileSync(file, doc.replace(/<!-- in-process:begin -->[\s\S]*<!-- in-process:end -->/, section));
}
