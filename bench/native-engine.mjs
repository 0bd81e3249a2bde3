// In-process cost of one decision with the native Cedar engine (src/engine/native), next to cedar-wasm's
// statefulIsAuthorized on the same inputs in the same run: the example policies in policies/ with a mix of
// representative requests, and a generated set of 1,000 policies. Then the native engine's heap for a
// store of 100,000 generated entities, and its cost per decision at that size.
//
//   npm run build && node --expose-gc bench/native-engine.mjs [--iterations N] [--write]
//
// cedar-wasm gets what authzd gives it today: the whole policy set preparsed (and, as a second baseline,
// authzd's PolicyEngine with its per-route policy slices), the schema preparsed, and the request's entity
// slice (principal built from claims, its parents and their ancestors, the resource and its ancestors).
// The native engine gets the whole store once and the principal as a per-call overlay. Every request's
// decision is cross-checked between the two. --write replaces the numbers section of docs/native-engine.md.
import '../dist/engine-flags.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NativeEngine } from '../dist/engine/native/native-engine.js';
import { cedar } from '../dist/cedar/cedar.js';
import { compilePolicyModel } from '../dist/policy/compile-policy-model.js';
import { readPolicyDir } from '../dist/policy/policy-files.js';
import { PolicyEngine } from '../dist/policy/policy-engine.js';
import { requestEntities } from '../dist/policy/request-entities.js';
import { USERS, TENANTS, BASE_ROLES, generatePolicySet, resourceAt, writePolicySet } from './generate-policy-set.mjs';
import { describeMachine } from './lib/machine.mjs';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '20000' }, write: { type: 'boolean', default: false } },
});
const N = Number(values.iterations);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with node --expose-gc (the heap figures need a collection before each reading)\n');
  process.exit(2);
}

/** CPU and wall microseconds per call of fn(i), after a warm-up of the same loop. */
function perOp(fn, n) {
  for (let i = 0; i < Math.min(20_000, n); i++) fn(i);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: Number(process.hrtime.bigint() - t0) / 1e3 / n };
}

const heapMiB = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const ipValue = (ip) => ({ __extn: { fn: 'ip', arg: ip } });

/** A request as authzd builds it: principal entity from claims (plus stored attributes), context facts. */
function httpCall(ns, { sub, tenant, roles, action, resource, method, routeId, scope, acr }) {
  const principal = { type: `${ns}::User`, id: sub };
  const principalEntity = {
    uid: principal,
    attrs: { tenant },
    parents: roles.map((id) => ({ type: `${ns}::Role`, id })),
  };
  const context = {
    request: {
      method,
      path: `/x/${resource.id}`,
      host: 'api.example.com',
      scheme: 'https',
      routeId,
      time: 1_767_000_000,
      sourceIp: ipValue('10.1.2.3'),
    },
    token: {
      iss: 'https://issuer.example',
      sub,
      exp: 1_767_003_600,
      scope,
      amr: ['pwd'],
      ...(acr ? { acr } : {}),
      tenant,
    },
  };
  return { principal, action: { type: `${ns}::Action`, id: action }, resource, context, principalEntity };
}

function workloadCall(ns, id, action, resource) {
  const principal = { type: `${ns}::Workload`, id };
  return {
    principal,
    action: { type: `${ns}::Action`, id: action },
    resource,
    context: {
      request: {
        method: 'GET',
        path: `/accounts/${resource.id}`,
        host: 'api',
        scheme: 'https',
        routeId: 'get-account',
        time: 1_767_000_000,
      },
    },
    principalEntity: { uid: principal, attrs: {}, parents: [] },
  };
}

/** One scenario: the native engine and cedar-wasm (whole set, and authzd's sliced PolicyEngine) on the same calls. */
function scenario(name, model, entitiesText, calls) {
  const native = new NativeEngine({ policies: model.policies, schema: model.schemaJson, entities: entitiesText });
  const setId = `bench-${name}`;
  const schemaName = `bench-${name}-schema`;
  if (cedar.preparseSchema(schemaName, model.schemaJson ?? model.schema).type !== 'success')
    throw new Error('preparseSchema');
  if (cedar.preparsePolicySet(setId, { staticPolicies: model.policies }).type !== 'success')
    throw new Error('preparsePolicySet');
  const slices = calls.map((c) => requestEntities(model, c.principalEntity, c.resource, c.action));
  const engine = new PolicyEngine({ validateRequests: true });
  const prepared = engine.prepare(model);

  const nativeCall = (i) => {
    const c = calls[i % calls.length];
    return native.isAuthorized(c, { overlay: [c.principalEntity] });
  };
  const wasmCall = (i) => {
    const c = calls[i % calls.length];
    return cedar.statefulIsAuthorized({
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      context: c.context,
      entities: slices[i % calls.length],
      preparsedPolicySetId: setId,
      preparsedSchemaName: schemaName,
      validateRequest: true,
    });
  };
  const slicedCall = (i) => {
    const c = calls[i % calls.length];
    return engine.authorize(prepared, { ...c, entities: slices[i % calls.length] });
  };

  // Cross-check: the same decision, reasons and errors for every call.
  const decisions = { allow: 0, deny: 0 };
  calls.forEach((_, i) => {
    const a = nativeCall(i);
    const b = wasmCall(i);
    if (a.type !== 'decision' || b.type !== 'success')
      throw new Error(`${name} call ${i}: ${JSON.stringify(a)} / ${JSON.stringify(b).slice(0, 300)}`);
    const same =
      a.decision === b.response.decision &&
      JSON.stringify([...a.reason].sort()) === JSON.stringify([...b.response.diagnostics.reason].sort()) &&
      JSON.stringify(a.errors.map((e) => e.policyId).sort()) ===
        JSON.stringify(b.response.diagnostics.errors.map((e) => e.policyId).sort());
    if (!same)
      throw new Error(`${name} call ${i}: native ${JSON.stringify(a)} vs cedar-wasm ${JSON.stringify(b.response)}`);
    decisions[a.decision]++;
  });

  const nativeRes = perOp(nativeCall, N);
  const wasmN = Math.max(500, Math.round(N / 20));
  const wasmRes = perOp(wasmCall, wasmN);
  const slicedRes = perOp(slicedCall, wasmN);
  engine.retire(prepared);
  return {
    name,
    policies: Object.keys(model.policies).length,
    calls: calls.length,
    decisions,
    native: nativeRes,
    wasm: wasmRes,
    sliced: slicedRes,
    nativeEngine: native,
  };
}

// ---- example policies ----
const exampleFiles = await readPolicyDir(path.join(ROOT, 'policies'));
const exampleModel = compilePolicyModel(exampleFiles);
const exampleEntities = readFileSync(path.join(ROOT, 'policies/entities.json'), 'utf8');
const acct = (id) => ({ type: 'Bank::Account', id });
const exampleCalls = [
  httpCall('Bank', {
    sub: 'bob',
    tenant: 'acme',
    roles: ['teller'],
    action: 'readAccount',
    resource: acct('acc-1001'),
    method: 'GET',
    routeId: 'get-account',
    scope: ['accounts:read'],
  }),
  httpCall('Bank', {
    sub: 'alice',
    tenant: 'acme',
    roles: ['customer'],
    action: 'readAccount',
    resource: acct('acc-1001'),
    method: 'GET',
    routeId: 'get-account',
    scope: ['accounts:read'],
  }),
  httpCall('Bank', {
    sub: 'alice',
    tenant: 'acme',
    roles: ['customer'],
    action: 'transferFunds',
    resource: acct('acc-1001'),
    method: 'POST',
    routeId: 'create-transfer',
    scope: ['payments:write'],
    acr: 'mfa',
  }),
  httpCall('Bank', {
    sub: 'alice',
    tenant: 'acme',
    roles: ['customer'],
    action: 'transferFunds',
    resource: acct('acc-1002'),
    method: 'POST',
    routeId: 'create-transfer',
    scope: ['payments:write'],
  }),
  httpCall('Bank', {
    sub: 'erin',
    tenant: 'globex',
    roles: ['teller'],
    action: 'readAccount',
    resource: acct('acc-1001'),
    method: 'GET',
    routeId: 'get-account',
    scope: ['accounts:read'],
  }),
  httpCall('Bank', {
    sub: 'dave',
    tenant: 'acme',
    roles: ['admin'],
    action: 'exportCustomerRecords',
    resource: { type: 'Bank::CustomerRecords', id: 'acme' },
    method: 'GET',
    routeId: 'export',
    scope: [],
  }),
  workloadCall('Bank', 'spiffe://cluster.local/ns/bank/sa/ledger', 'readAccount', acct('acc-2001')),
];
const example = scenario('example', exampleModel, exampleEntities, exampleCalls);

// ---- generated sets ----
function generated(policies, entities, name) {
  const { files, layout } = generatePolicySet({ policies, entities });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-native-bench-'));
  writePolicySet(dir, files);
  return { dir, files, layout, name };
}
function generatedCalls(layout, count) {
  const calls = [];
  for (let i = 0; i < count; i++) {
    const a = layout.actions[(i * 7) % layout.actions.length];
    // A resource of the action's type: resource n has type Res<n mod typeCount>.
    const t = Number(a.type.slice(3));
    const n = t + layout.typeCount * ((i * 131) % Math.floor(layout.resourceCount / layout.typeCount));
    const r = resourceAt(layout, n);
    const owner = i % 3 === 0;
    const sub = owner ? r.owner : `user${(i * 17) % USERS}`;
    calls.push(
      httpCall(layout.namespace, {
        sub,
        tenant: owner ? r.tenant : `tenant${i % TENANTS}`,
        roles: [`role${i % BASE_ROLES}`, ...(i % 5 === 0 ? ['admin'] : []), ...(i % 7 === 0 ? ['auditor'] : [])],
        action: a.name,
        resource: { type: `${layout.namespace}::${r.type}`, id: r.id },
        method: a.method,
        routeId: a.route,
        scope: [`op${i % 100}`, 'all'],
      }),
    );
  }
  return calls;
}

const g1k = generated(1000, 1000, '1k');
const model1k = compilePolicyModel(await readPolicyDir(g1k.dir));
const large = scenario('1000-policies', model1k, g1k.files.get('entities.json'), generatedCalls(g1k.layout, 2000));

// ---- 100,000 entities: heap and cost per decision ----
const g100k = generated(1000, 100_000, '100k');
const files100k = await readPolicyDir(g100k.dir);
const model100k = compilePolicyModel(files100k);
const entities100kText = g100k.files.get('entities.json');
const before = heapMiB();
let t0 = process.hrtime.bigint();
const native100k = new NativeEngine({
  policies: model100k.policies,
  schema: model100k.schemaJson,
  entities: entities100kText,
});
const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
const after = heapMiB();
// The same 2,000 requests (their resources exist in both stores) against the 1,000- and the 100,000-entity
// store, alternately, so that only the store's size differs; then requests spread over all 100,000.
const calls1k = generatedCalls(g1k.layout, 2000);
const calls100k = generatedCalls(g100k.layout, 2000);
const against = (engine, calls) => (i) =>
  engine.isAuthorized(calls[i % calls.length], { overlay: [calls[i % calls.length].principalEntity] });
const sizeRuns = { small: [], large: [] };
for (let round = 0; round < 3; round++) {
  sizeRuns.small.push(perOp(against(large.nativeEngine, calls1k), N).cpuUs);
  sizeRuns.large.push(perOp(against(native100k, calls1k), N).cpuUs);
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sameCalls = { small: mean(sizeRuns.small), large: mean(sizeRuns.large) };
const per100k = perOp(against(native100k, calls100k), N);
t0 = process.hrtime.bigint();
const native1kCompile = new NativeEngine({
  policies: model1k.policies,
  schema: model1k.schemaJson,
  entities: g1k.files.get('entities.json'),
});
const compile1kMs = Number(process.hrtime.bigint() - t0) / 1e6;
void native1kCompile;
const heap100k = { entities: native100k.store.size, mib: after - before, compileMs };
rmSync(g1k.dir, { recursive: true, force: true });
rmSync(g100k.dir, { recursive: true, force: true });

// ---- report ----
const m = describeMachine();
const f = (x) => x.toFixed(x < 10 ? 2 : 1);
const row = (s) => [
  `| ${s.name === 'example' ? 'example policies (policies/)' : '1,000 generated policies'} | ${s.policies} | ${s.calls} (${s.decisions.allow} allow, ${s.decisions.deny} deny) | ${f(s.native.cpuUs)} | ${f(s.wasm.cpuUs)} | ${f(s.sliced.cpuUs)} | ${(s.wasm.cpuUs / s.native.cpuUs).toFixed(0)}× / ${(s.sliced.cpuUs / s.native.cpuUs).toFixed(0)}× |`,
];
const section = [
  '<!-- native-engine:begin -->',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`node --expose-gc bench/native-engine.mjs --iterations ${N}\` on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.kernel} (load average ${m.loadAverage.join(', ')}: the machine is shared, so compare the ratios).`,
  '',
  '| policy set | policies | requests (decisions) | native CPU µs/decision | cedar-wasm (whole set) µs | cedar-wasm (authzd slices) µs | cedar-wasm ÷ native (whole set / slices) |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...row(example),
  ...row(large),
  '',
  `Store of ${heap100k.entities.toLocaleString('en')} entities (${(100_000).toLocaleString('en')} generated, with their parents): native heap ${heap100k.mib.toFixed(1)} MiB, built in ${heap100k.compileMs.toFixed(0)} ms with 1,000 policies (1,000 entities: ${compile1kMs.toFixed(0)} ms). The same 2,000 requests cost ${f(sameCalls.large)} µs per decision against it and ${f(sameCalls.small)} µs against the 1,000-entity store (mean of three alternating runs each); requests spread over all its resources cost ${f(per100k.cpuUs)} µs.`,
  '',
  'Every request was answered identically (decision, reasons, errors) by the native engine and cedar-wasm before timing. Targets (issue 14): example policies ≤ 10 µs, 1,000 policies ≤ 30 µs per decision.',
  '<!-- native-engine:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
if (values.write) {
  const file = path.join(ROOT, 'docs/native-engine.md');
  const doc = readFileSync(file, 'utf8');
  writeFileSync(file, doc.replace(/<!-- native-engine:begin -->[\s\S]*<!-- native-engine:end -->/, section));
}
