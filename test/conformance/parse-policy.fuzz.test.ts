import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { cedar } from '../../src/cedar/cedar.js';
import { PolicyParseError } from '../../src/engine/native/ast.js';
import { hasSlots, parsePolicy } from '../../src/engine/native/parse-policy.js';
import { policyFromJson } from '../../src/engine/native/policy-from-json.js';
import { generateWorld, Rng } from '../helpers/cedar-world.js';
import { hasWideLiteral, normalizePolicy } from '../helpers/policy-ast.js';

// The native parser against cedar-wasm's on generated policies (the fuzzer's, over every operator) and on
// mutations of them (tokens inserted, characters deleted or swapped), most of which are not Cedar: both
// must accept the same texts, and for accepted ones build the same AST (policyToJson, then
// policyFromJson; texts with integer literals beyond 2^53 are compared on acceptance only).
// AUTHZD_FUZZ_RUNS sets the number of seeds (default 150, each giving a handful of policies and mutants).
const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 150);
const SEED = Number(process.env.AUTHZD_FUZZ_SEED ?? 1409);

const TOKENS = [
  '(',
  ')',
  '.',
  '::',
  '"',
  '\\',
  '*',
  '-',
  '!',
  'if',
  'then',
  'else',
  ' in ',
  ' has ',
  ' is ',
  ' like ',
  ',',
  '[',
  ']',
  '{',
  '}',
  ':',
  '==',
  '=',
  '&&',
  '||',
  ' ',
  '\n',
  '//',
  'principal',
  '?principal',
  '?resource',
  '9223372036854775808',
  '-9223372036854775808',
  '0',
  'true',
  '__cedar',
  '@id("x")',
  '\\u{2a}',
  '\\*',
  'when',
  'unless',
  ';',
  'ip(',
  'x',
  '"\\n"',
  '5',
  '/',
  '%',
  'context',
  '.contains(',
  '.isEmpty()',
  '\u00a0',
  '\ufeff',
  '\u0085',
];

/** Mutations work on code points: a JS string with a lone surrogate cannot be Cedar text (nor reach cedar-wasm). */
function mutate(r: Rng, text: string): string {
  let t = Array.from(text);
  for (let k = r.int(1, 3); k > 0; k--) {
    const at = r.int(0, t.length);
    switch (r.int(0, 2)) {
      case 0:
        t = [...t.slice(0, at), ...Array.from(r.pick(TOKENS)), ...t.slice(at)];
        break;
      case 1:
        t = [...t.slice(0, at), ...t.slice(at + r.int(1, 4))];
        break;
      default: {
        const b = r.int(0, t.length);
        const [x, y] = at < b ? [at, b] : [b, at];
        t = [...t.slice(0, x), ...t.slice(y, y + 1), ...t.slice(x + 1, y), ...t.slice(x, x + 1), ...t.slice(y + 1)];
      }
    }
  }
  return t.join('');
}

interface Tally {
  texts: number;
  accepted: number;
  astCompared: number;
}

function compare(text: string, tally: Tally): string | undefined {
  tally.texts++;
  const wasmOk = cedar.checkParsePolicySet({ staticPolicies: { p: text } }).type === 'success';
  let ast;
  try {
    ast = parsePolicy(text);
  } catch (e) {
    if (!(e instanceof PolicyParseError)) return `native parser threw ${String(e)} on:\n${text}`;
  }
  const nativeOk = ast !== undefined && !hasSlots(ast);
  if (wasmOk !== nativeOk)
    return `cedar-wasm ${wasmOk ? 'accepts' : 'refuses'}, native ${nativeOk ? 'accepts' : 'refuses'}:\n${text}`;
  if (!nativeOk) return undefined;
  tally.accepted++;
  if (hasWideLiteral(ast!)) return undefined;
  const json = cedar.policyToJson(text);
  if (json.type !== 'success') return `policyToJson failed on an accepted policy:\n${text}`;
  tally.astCompared++;
  const a = JSON.stringify(normalizePolicy(ast!));
  const b = JSON.stringify(normalizePolicy(policyFromJson(json.json)));
  return a === b ? undefined : `different ASTs for:\n${text}\nnative ${a}\nwasm   ${b}`;
}

describe('native policy parser vs cedar-wasm (generated and mutated policies)', () => {
  it('accepts the same texts and builds the same ASTs', () => {
    const tally: Tally = { texts: 0, accepted: 0, astCompared: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const r = new Rng(seed ^ 0x5bd1e995);
        for (const text of generateWorld(seed, { requests: 0 }).policies) {
          const problems = [
            compare(text, tally),
            compare(mutate(r, text), tally),
            compare(mutate(r, text), tally),
          ].filter((p) => p !== undefined);
          if (problems.length > 0) throw new Error(problems[0]);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(
      `parser fuzz: ${tally.texts} texts, ${tally.accepted} accepted by both, ${tally.astCompared} ASTs compared, seed ${SEED}`,
    );
    expect(tally.accepted).toBeGreaterThan(tally.texts / 4);
    expect(tally.astCompared).toBeGreaterThan(tally.accepted / 2);
  }, 300_000);
});
