import { I64_MAX, I64_MIN } from './i64.js';

/** Cedar's `decimal`: a signed 64-bit count of ten-thousandths. */
export class Decimal {
  constructor(readonly value: bigint) {}
  toString(): string {
    const neg = this.value < 0n;
    const abs = neg ? -this.value : this.value;
    return `${neg ? '-' : ''}${abs / 10000n}.${(abs % 10000n).toString().padStart(4, '0')}`;
  }
}

const DECIMAL = /^(-?[0-9]+)\.([0-9]+)$/;
const fits = (v: bigint): boolean => v >= I64_MIN && v <= I64_MAX;

/**
 * `decimal("…")`: digits on both sides of the point, at most four after it, within i64 once scaled; the
 * checks run in Cedar's order (integer part, its scaling, fraction length, sum), all of them errors.
 */
export function parseDecimal(s: string): Decimal | string {
  const m = DECIMAL.exec(s);
  if (m === null) return `\`${s}\` is not a well-formed decimal value`;
  const [, lStr, rStr] = m as unknown as [string, string, string];
  let l = BigInt(lStr);
  if (!fits(l)) return 'overflow when converting to decimal';
  l *= 10000n;
  if (!fits(l)) return 'overflow when converting to decimal';
  if (rStr.length > 4) return `too many digits after the decimal in \`${s}\``;
  const r = BigInt(rStr) * 10n ** BigInt(4 - rStr.length);
  const v = lStr.startsWith('-') ? l - r : l + r;
  if (!fits(v)) return 'overflow when converting to decimal';
  return new Decimal(v);
}
