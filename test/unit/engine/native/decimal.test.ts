import { describe, expect, it } from 'vitest';

import { type Decimal, parseDecimal } from '../../../../src/engine/native/decimal.js';
import { disagreements, nativeOutcome } from '../../../helpers/expression-oracle.js';

const DECIMALS = [
  '0.0',
  '1.5',
  '-1.5',
  '1.50',
  '-0.0001',
  '12.3456',
  '922337203685477.5807',
  '-922337203685477.5808',
  '922337203685477.5808',
  '-922337203685477.5809',
  '1.23456',
  '1.',
  '.5',
  '1',
  'abc',
  '+1.0',
  '00001.1000',
  '١.٥',
  '1.0 ',
];

describe('decimal', () => {
  it('accepts and orders exactly what cedar-wasm does', () => {
    const exprs = DECIMALS.flatMap((a) => [
      `decimal(${JSON.stringify(a)}) == decimal(${JSON.stringify(a)})`,
      ...DECIMALS.slice(0, 8).map(
        (b) =>
          `decimal(${JSON.stringify(a)}).lessThan(decimal(${JSON.stringify(b)})) || decimal(${JSON.stringify(a)}).greaterThanOrEqual(decimal(${JSON.stringify(b)}))`,
      ),
      ...DECIMALS.slice(0, 8).map(
        (b) =>
          `decimal(${JSON.stringify(a)}).lessThanOrEqual(decimal(${JSON.stringify(b)})) && !decimal(${JSON.stringify(a)}).greaterThan(decimal(${JSON.stringify(b)}))`,
      ),
    ]);
    expect(disagreements(exprs)).toEqual([]);
  });

  it('keeps ten-thousandths exactly across the whole i64 range', () => {
    expect((parseDecimal('-922337203685477.5808') as Decimal).value).toBe(-(2n ** 63n));
    expect(parseDecimal('922337203685477.5808')).toMatch(/overflow/);
    expect((parseDecimal('1.5') as Decimal).toString()).toBe('1.5000');
  });

  it('does not support < on decimals (a type error), as Cedar', () => {
    expect(nativeOutcome('decimal("1.0") < decimal("2.0")')).toBe('error');
    expect(nativeOutcome('decimal("1.0").lessThan(1)')).toBe('error');
  });
});
