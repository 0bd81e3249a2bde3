import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  add,
  divTrunc,
  fromBigInt,
  I64_MAX,
  I64_MIN,
  mul,
  neg,
  parseDigits,
  remTrunc,
  sub,
} from '../../../../src/engine/native/i64.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 500);
const big = (v: number | bigint) => BigInt(v);
const inRange = (v: bigint) => v >= I64_MIN && v <= I64_MAX;
/** The reference: exact bigint arithmetic, undefined outside i64. */
const ref = (v: bigint) => (inRange(v) ? v : undefined);
const canonical = (v: number | bigint | undefined) =>
  v === undefined ||
  (typeof v === 'number' ? Number.isSafeInteger(v) && !Object.is(v, -0) : v < -(2n ** 53n - 1n) || v > 2n ** 53n - 1n);

// Longs near the edges (safe-integer boundary, i64 boundary) and anywhere in i64.
const long = fc
  .oneof(
    fc.bigInt({ min: I64_MIN, max: I64_MAX }),
    fc.constantFrom(
      0n,
      1n,
      -1n,
      I64_MAX,
      I64_MIN,
      2n ** 53n - 1n,
      -(2n ** 53n - 1n),
      2n ** 53n,
      3037000499n,
      3037000500n,
      -3037000500n,
    ),
    fc.integer({ min: -1000, max: 1000 }).map(BigInt),
  )
  .map((v) => fromBigInt(v)!);

describe('i64 Longs', () => {
  it('are numbers inside the safe range and bigints outside it, never -0', () => {
    expect(fromBigInt(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(fromBigInt(2n ** 53n)).toBe(2n ** 53n);
    expect(fromBigInt(I64_MAX + 1n)).toBeUndefined();
    expect(Object.is(mul(0, -5), -0)).toBe(false);
    expect(Object.is(neg(0), -0)).toBe(false);
  });

  it('+, -, * and negation are exact and report overflow, like checked i64 arithmetic', () => {
    fc.assert(
      fc.property(long, long, (a, b) => {
        for (const [op, f] of [
          [add, (x: bigint, y: bigint) => x + y],
          [sub, (x: bigint, y: bigint) => x - y],
          [mul, (x: bigint, y: bigint) => x * y],
        ] as const) {
          const got = op(a, b);
          const want = ref(f(big(a), big(b)));
          expect(got === undefined ? undefined : big(got)).toBe(want);
          expect(canonical(got)).toBe(true);
        }
        const n = neg(a);
        expect(n === undefined ? undefined : big(n)).toBe(ref(-big(a)));
      }),
      { numRuns: RUNS },
    );
  });

  it('overflows exactly at the edges', () => {
    expect(add(fromBigInt(I64_MAX)!, 1)).toBeUndefined();
    expect(sub(fromBigInt(I64_MIN)!, 1)).toBeUndefined();
    expect(neg(fromBigInt(I64_MIN)!)).toBeUndefined();
    expect(mul(fromBigInt(3037000500n)!, fromBigInt(3037000500n)!)).toBeUndefined();
    expect(mul(fromBigInt(3037000499n)!, fromBigInt(3037000499n)!)).toBe(9223372030926249001n);
    expect(add(Number.MAX_SAFE_INTEGER, 1)).toBe(2n ** 53n);
  });

  it('truncating division and remainder follow Rust (towards zero)', () => {
    expect(divTrunc(-1500, 1000)).toBe(-1);
    expect(remTrunc(-1500, 1000)).toBe(-500);
    expect(divTrunc(fromBigInt(I64_MIN)!, 1000)).toBe(-9223372036854775n);
    fc.assert(
      fc.property(long, (a) => {
        expect(big(divTrunc(a, 86_400_000))).toBe(big(a) / 86_400_000n);
        expect(big(remTrunc(a, 1000))).toBe(big(a) % 1000n);
      }),
      { numRuns: RUNS },
    );
  });

  it('parses digit strings exactly, refusing what does not fit', () => {
    expect(parseDigits('9223372036854775807', false)).toBe(I64_MAX);
    expect(parseDigits('9223372036854775808', true)).toBe(I64_MIN);
    expect(parseDigits('9223372036854775808', false)).toBeUndefined();
    expect(parseDigits('12a', false)).toBeUndefined();
  });
});
