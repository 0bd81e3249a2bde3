/**
 * Cedar's Long: a signed 64-bit integer. Represented as a JS number while it is a safe integer and as a
 * bigint only outside ±(2^53 - 1), so the common case costs a number operation. The representation is
 * canonical (never a bigint inside the safe range, never -0), which makes `===` (and Set/Map lookups)
 * exact equality: a number and a bigint are never the same Long.
 */
export type Long = number | bigint;

export const I64_MIN = -(2n ** 63n);
export const I64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The canonical Long for a bigint, or undefined when it does not fit in 64 bits. */
export function fromBigInt(v: bigint): Long | undefined {
  if (v < I64_MIN || v > I64_MAX) return undefined;
  if (v >= -SAFE_MAX && v <= SAFE_MAX) return Number(v);
  return v;
}

export const isLong = (v: unknown): v is Long => typeof v === 'number' || typeof v === 'bigint';

const big = (v: Long): bigint => (typeof v === 'bigint' ? v : BigInt(v));

// A sum, difference or product of two safe integers whose float result is still safe is exact: the true
// result, if it were beyond 2^53 - 1, would round to a float at or beyond 2^53 (rounding is monotonic and
// 2^53 is representable). So the number path only has to check the result's magnitude.
const SAFE = Number.MAX_SAFE_INTEGER;

export function add(a: Long, b: Long): Long | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (r <= SAFE && r >= -SAFE) return r + 0;
  }
  return fromBigInt(big(a) + big(b));
}

export function sub(a: Long, b: Long): Long | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (r <= SAFE && r >= -SAFE) return r + 0;
  }
  return fromBigInt(big(a) - big(b));
}

export function mul(a: Long, b: Long): Long | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (r <= SAFE && r >= -SAFE) return r + 0; // + 0 turns -0 into 0
  }
  return fromBigInt(big(a) * big(b));
}

export function neg(a: Long): Long | undefined {
  if (typeof a === 'number') return 0 - a;
  return fromBigInt(-a);
}

/** Truncating division by a positive constant (Rust's `/` on i64). */
export function divTrunc(a: Long, d: number): Long {
  if (typeof a === 'number') return (a - (a % d)) / d + 0;
  return fromBigInt(a / BigInt(d))!;
}

/** Remainder with the sign of the dividend (Rust's `%` on i64). */
export function remTrunc(a: Long, d: number): Long {
  if (typeof a === 'number') return (a % d) + 0;
  return fromBigInt(a % BigInt(d))!;
}

/** Number comparison works across number and bigint in JS, exactly. */
export const lessThan = (a: Long, b: Long): boolean => a < b;
export const lessEq = (a: Long, b: Long): boolean => a <= b;

/** Parses an unsigned decimal digit string; undefined when it is not digits or does not fit in 64 bits. */
export function parseDigits(digits: string, negative: boolean): Long | undefined {
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const v = BigInt(digits);
  return fromBigInt(negative ? -v : v);
}

export const longToString = (v: Long): string => String(v);
