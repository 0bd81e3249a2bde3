// The answer authzd gives is the answer Cedar gives over everything authzd knows. On generated policy sets
// (test/helpers/cedar-universe.ts: several namespaces, action groups from the schema or from entities,
// entity-typed attributes 1-3 hops deep, records and sets of entities, tags, entity literals) and requests,
// the Check pipeline with every optimisation on (entity slices, policy slices, the decision cache, and a
// second identical request answered from that cache) must decide exactly as cedar-wasm's isAuthorized with
// the whole policy set and the whole entity store: same decision, same determining policies, same errors.
// Both engines behind policies.engine run it: cedar-wasm (with its slices) and the native evaluator (no
// slices; the whole store in place).
// AUTHZD_FUZZ_RUNS sets the number of generated policy sets (default 100, about 10 s); AUTHZD_FUZZ_SEED fixes the seed.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import type { EntityJson } from '../../../src/cedar/cedar.js';
import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import { DecisionCache } from '../../../src/check/decision-cache.js';
import { type EntityUid } from '../../../src/contract/cedar-call.js';
import type { Decision } from '../../../src/contract/decision.js';
import { type Evaluation, evaluationFromAnswer } from '../../../src/decide/evaluate-call.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import type { DecisionEngine } from '../../../src/engine/decision-engine.js';
import { NativeDecisionEngine } from '../../../src/engine/native/native-decision-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel, type PolicyModel, PolicyModelError } from '../../../src/policy/compile-policy-model.js';
import { entityKey } from '../../../src/policy/entity-store.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { type Universe, universeArb } from '../../helpers/cedar-universe.js';
import { testConfig } from '../../helpers/config.js';
import { createTestIssuer, type TestIssuer } from '../../helpers/issuer.js';
import { httpCheckRequest } from '../../helpers/test-authzd.js';
import { wholeStoreAnswer } from '../../helpers/whole-store-answer.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 100);
const SEED = process.env.AUTHZD_FUZZ_SEED !== undefined ? Number(process.env.AUTHZD_FUZZ_SEED) : undefined;

let issuer: TestIssuer;
const ENGINES: readonly DecisionEngine[] = [
  new CedarWasmEngine({ validateRequests: true, slicing: true }),
  new NativeDecisionEngine({ validateRequests: true }),
];
let engine: DecisionEngine;
// One store per engine for every generated set: activating the next retires the previous one's engine slot.
let store: PolicyStore;
const newStats = () => ({
  universes: 0,
  rejectedBySchema: 0,
  requests: 0,
  allows: 0,
  errors: 0,
  invalid: 0,
  naiveSliceWouldDiffer: 0,
});
let stats = newStats();

beforeAll(async () => {
  issuer = await createTestIssuer();
});

/** What the slice held before this property existed: principal, its parents, the resource, their ancestors. */
function naiveSlice(model: PolicyModel, input: NonNullable<Decision['input']>): EntityJson[] {
  const out: EntityJson[] = [];
  const seen = new Set<string>();
  const push = (uid: EntityUid) => {
    for (const key of [entityKey(uid), ...model.entities.ancestorKeysOf(entityKey(uid))]) {
      if (seen.has(key)) continue;
      seen.add(key);
      const e = model.entities.getByKey(key);
      if (e !== undefined) out.push(e as EntityJson);
    }
  };
  if (input.principalEntity !== undefined) {
    out.push(input.principalEntity as EntityJson);
    seen.add(entityKey(input.principal));
    for (const p of input.principalEntity.parents) push(p);
  } else push(input.principal);
  push(input.resource);
  if (model.schema === undefined) push(input.action);
  return out;
}

const comparable = (e: Pick<Evaluation, 'allowed' | 'policies' | 'errors'> & { readonly reason: string }) => ({
  allowed: e.allowed,
  reason: e.reason,
  policies: [...e.policies].sort(),
  errors: [...e.errors].sort(),
});

async function checkUniverse(u: Universe): Promise<void> {
  stats.universes++;
  let model: PolicyModel;
  try {
    model = compilePolicyModel(u.files);
  } catch (err) {
    // Strict validation may refuse a generated policy (an `in` it proves impossible, say); without a schema
    // nothing may be refused.
    if (u.withSchema && err instanceof PolicyModelError) {
      stats.rejectedBySchema++;
      return;
    }
    throw err;
  }
  const config = testConfig(issuer, { policies: { onError: u.onError } });
  store.activate(model);
  let n = 0;
  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier: new TokenVerifier(config.tokens, { now: Date.now, cache: config.cache.tokens }),
    now: Date.now,
    newId: () => `d-${++n}`,
    decisionCache: new DecisionCache(config.cache.decisions),
    epoch: () => 0,
  });
  for (const r of u.requests) {
    const token = await issuer.sign({ ...r.claims, tenant: undefined });
    const message = httpCheckRequest({ method: r.method, path: `/docs/${r.doc}`, token });
    const first = await pipeline.check(message);
    if (first.kind !== 'decision') throw new Error(`an error outcome: ${JSON.stringify(first.failure)}`);
    const d = first.decision;
    expect(d.input, 'a policy decision carries its Cedar request').toBeDefined();
    const oracle = wholeStoreAnswer(model, d.input!);
    const resourceUnknown =
      model.entities.holdsType(d.input!.resource.type) && model.entities.get(d.input!.resource) === undefined;
    const expected = comparable(evaluationFromAnswer(oracle, u.onError, resourceUnknown));
    const context = { policies: u.files.get('policies.cedar'), request: r, schema: u.withSchema };
    expect(comparable(d), JSON.stringify(context)).toEqual(expected);
    // An earlier request with the same decision inputs (what policies can see) may have filled the cache.
    expect(['engine', 'cache']).toContain(d.source);

    const second = await pipeline.check(message);
    if (second.kind !== 'decision') throw new Error('an error outcome the second time');
    expect(second.decision.source, 'the same request again comes from the decision cache').toBe('cache');
    expect(comparable(second.decision), JSON.stringify(context)).toEqual(expected);
    stats.requests++;
    if (d.allowed) stats.allows++;
    if (d.errors.length > 0) stats.errors++;
    if (oracle.kind === 'invalid') stats.invalid++;
    const naive = wholeStoreAnswer(model, d.input!, naiveSlice(model, d.input!));
    if (
      JSON.stringify(comparable(evaluationFromAnswer(naive, u.onError, resourceUnknown))) !== JSON.stringify(expected)
    )
      stats.naiveSliceWouldDiffer++;
  }
}

describe.each(ENGINES.map((e) => [e.name, e] as const))('authzd decides as Cedar over the whole store (%s)', (_, e) => {
  it(
    'on generated schemas, policies, stores and requests, with every optimisation on',
    async () => {
      engine = e;
      store = new PolicyStore(e);
      stats = newStats();
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(universeArb, async (u) => {
          await checkUniverse(u);
        }),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
      );
      console.log(
        `decide = Cedar (${e.name}): ${JSON.stringify({ ...stats, seconds: (Date.now() - started) / 1000 })}`,
      );
      // The generator must reach what the property is about, or passing proves nothing: requests allowed and
      // denied, policies that error, requests whose answer depends on entities the old slice left out.
      expect(stats.requests).toBeGreaterThan(RUNS);
      expect(stats.allows).toBeGreaterThan(0);
      expect(stats.allows).toBeLessThan(stats.requests);
      expect(stats.errors).toBeGreaterThan(0);
      expect(stats.naiveSliceWouldDiffer).toBeGreaterThan(0);
      expect(stats.rejectedBySchema).toBeLessThan(stats.universes / 2);
    },
    // Long runs (AUTHZD_FUZZ_RUNS) take about 0.1 s per generated set on an idle machine.
    60_000 + RUNS * 1_000,
  );
});
