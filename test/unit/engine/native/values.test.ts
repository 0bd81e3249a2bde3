import { describe, expect, it } from 'vitest';

import { DateTime, Duration } from '../../../../src/engine/native/datetime.js';
import { parseDecimal } from '../../../../src/engine/native/decimal.js';
import { parseIp } from '../../../../src/engine/native/ipaddr.js';
import { CedarRecord, CedarSet, EntityRef, type Value, valueEquals } from '../../../../src/engine/native/values.js';

const rec = (o: Record<string, Value>) => new CedarRecord(Object.keys(o), Object.values(o));

describe('Cedar values', () => {
  it('equality is by value within a type and false across types, never an error', () => {
    expect(valueEquals(1, 1)).toBe(true);
    expect(valueEquals(1, '1')).toBe(false);
    expect(valueEquals(true, 1)).toBe(false);
    expect(valueEquals(2n ** 60n, 2n ** 60n)).toBe(true);
    expect(valueEquals(new EntityRef('A', 'x'), new EntityRef('A', 'x'))).toBe(true);
    expect(valueEquals(new EntityRef('A', 'x'), new EntityRef('B', 'x'))).toBe(false);
    expect(valueEquals(new EntityRef('A', 'x'), rec({ type: 'A', id: 'x' }))).toBe(false);
    expect(valueEquals(parseDecimal('1.5') as Value, parseDecimal('1.50') as Value)).toBe(true);
    expect(valueEquals(parseIp('10.0.0.1') as Value, parseIp('10.0.0.1/32') as Value)).toBe(true);
    expect(valueEquals(parseIp('10.0.0.1/24') as Value, parseIp('10.0.0.0/24') as Value)).toBe(false);
    expect(valueEquals(new DateTime(5), new Duration(5))).toBe(false);
    expect(valueEquals(new Duration(5), new Duration(5))).toBe(true);
  });

  it('sets are sets: duplicates collapse, order does not matter, elements compare structurally', () => {
    const a = new CedarSet([1, 1, 2, rec({ x: 1 }), rec({ x: 1 }), new CedarSet([3, 4])]);
    expect(a.size).toBe(4);
    const b = new CedarSet([new CedarSet([4, 3]), 2, rec({ x: 1 }), 1]);
    expect(valueEquals(a, b)).toBe(true);
    expect(valueEquals(new CedarSet([1, 2]), new CedarSet([1]))).toBe(false);
    expect(valueEquals(new CedarSet([1]), new CedarSet([1, 2]))).toBe(false);
    expect(valueEquals(new CedarSet([]), new CedarSet([1]))).toBe(false);
    expect(a.has(rec({ x: 1 }))).toBe(true);
    expect(a.has(rec({ x: 2 }))).toBe(false);
    expect(a.has(new CedarSet([3, 4, 4]))).toBe(true);
    expect(new CedarSet([1, 2, 3]).containsAll(new CedarSet([3, 1]))).toBe(true);
    expect(new CedarSet([1, 2]).containsAll(new CedarSet([3]))).toBe(false);
    expect(new CedarSet([1, 2]).containsAny(new CedarSet([3, 2]))).toBe(true);
    expect(new CedarSet([]).containsAny(new CedarSet([]))).toBe(false);
    expect(new CedarSet([new EntityRef('A', 'x')]).has(new EntityRef('A', 'x'))).toBe(true);
    expect(new CedarSet([1]).has(1n as unknown as Value)).toBe(false); // never built: Longs are canonical
  });

  it('records compare by key set and values, regardless of order', () => {
    expect(valueEquals(rec({ a: 1, b: 'x' }), rec({ b: 'x', a: 1 }))).toBe(true);
    expect(valueEquals(rec({ a: 1 }), rec({ a: 1, b: 2 }))).toBe(false);
    expect(valueEquals(rec({}), rec({}))).toBe(true);
    const wide = rec(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])));
    expect(wide.get('k39')).toBe(39);
    expect(wide.has('k40')).toBe(false);
  });
});
