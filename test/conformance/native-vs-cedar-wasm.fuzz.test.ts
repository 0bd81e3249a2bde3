import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { generateWorld } from '../helpers/cedar-world.js';
import { compareWorld } from '../helpers/differential.js';

// Differential fuzzing of the native engine against cedar-wasm: each run generates a world (schema over
// several namespaces with cross-namespace action groups, entity-typed attributes a few hops deep, records,
// sets of entities, tags, optional attributes, an enumerated type; a store; policies over every operator and
// extension function, with errors and overflow; requests valid and not, with and without an overlay
// principal) and compares every request's decision, reasons and errors. A case is one request against the
// world's whole policy set. AUTHZD_FUZZ_RUNS sets the number of worlds (default 200) and
// AUTHZD_FUZZ_REQUESTS the requests per world (default 12: 2,400 cases); AUTHZD_FUZZ_SEED the
// fast-check seed (default fixed, so CI is deterministic). A world costs cedar-wasm ~0.1 s to preparse its
// schema, so long runs use more requests per world: AUTHZD_FUZZ_RUNS=5000 AUTHZD_FUZZ_REQUESTS=200 is
// 1,000,000 cases.
const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 200);
const REQUESTS = Number(process.env.AUTHZD_FUZZ_REQUESTS ?? 12);
const SEED = Number(process.env.AUTHZD_FUZZ_SEED ?? 20260614);

describe('native engine vs cedar-wasm (generated worlds)', () => {
  it(
    'agree on decision, reasons and errors for every generated request',
    () => {
      let cases = 0;
      let worlds = 0;
      let refused = 0;
      const t0 = Date.now();
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
          const result = compareWorld(generateWorld(seed, { requests: REQUESTS }));
          worlds++;
          cases += result.cases;
          refused += result.refusedPolicies;
          if (result.mismatch !== undefined) throw new Error(result.mismatch);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(
        `native vs cedar-wasm: ${worlds} worlds, ${cases} cases, ${refused} policies refused by both, seed ${SEED}, ${REQUESTS} requests per world, ${Date.now() - t0} ms`,
      );
      expect(cases).toBe(RUNS * REQUESTS);
    },
    Math.max(120_000, RUNS * (300 + REQUESTS * 20)),
  );
});
