import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { JsonNonLong, JsonSyntaxError, parseJsonText } from '../../../../src/engine/native/json-text.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 300);

describe('parseJsonText', () => {
  it('keeps every 64-bit integer exact, where JSON.parse rounds', () => {
    expect(parseJsonText('9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(parseJsonText('-9223372036854775808')).toBe(-(2n ** 63n));
    expect(parseJsonText('9007199254740993')).toBe(9007199254740993n);
    expect(JSON.parse('9007199254740993')).toBe(9007199254740992);
    expect(parseJsonText('[1, -0, 12]')).toEqual([1, 0, 12]);
  });

  it('marks numbers that are not Longs instead of rounding them', () => {
    expect(parseJsonText('1.0')).toBeInstanceOf(JsonNonLong);
    expect(parseJsonText('1e3')).toBeInstanceOf(JsonNonLong);
    expect(parseJsonText('9223372036854775808')).toBeInstanceOf(JsonNonLong);
  });

  it('refuses duplicate keys, lone surrogates and anything not strict JSON', () => {
    for (const bad of [
      '{"a":1,"a":2}',
      '"\\ud800"',
      '"\\udc00x"',
      '[1,]',
      '{"a":1,}',
      "'a'",
      '01',
      'NaN',
      '"a\nb"',
      '{"a" 1}',
      '1 2',
      '',
      '[',
      '"\\x41"',
    ]) {
      expect(() => parseJsonText(bad), bad).toThrow(JsonSyntaxError);
    }
    expect(parseJsonText('"\\ud83d\\ude42"')).toBe('🙂');
  });

  it('reads "__proto__" as an ordinary key, never as the prototype', () => {
    const o = parseJsonText('{"__proto__": {"x": 1}, "a": {"__proto__": 2}}') as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(o, '__proto__')!.value).toEqual({ x: 1 });
    expect(Object.keys(o.a!)).toEqual(['__proto__']);
    expect(() => parseJsonText('{"__proto__": 1, "__proto__": 2}')).toThrow(JsonSyntaxError);
  });

  it('reads whatever JSON.stringify writes (safe integers and strings), to the same value', () => {
    const json = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(json, (v) => {
        expect(parseJsonText(JSON.stringify(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: RUNS },
    );
  });
});
