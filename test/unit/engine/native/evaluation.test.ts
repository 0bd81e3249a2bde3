import { describe, expect, it } from 'vitest';

import { disagreements, nativeOutcome } from '../../../helpers/expression-oracle.js';

// Operators whose Cedar semantics are easy to get subtly wrong, each checked natively and against cedar-wasm.
const ENTITIES = [
  {
    uid: { type: 'U', id: 'u' },
    attrs: { n: 1, rec: { a: { b: 1 } }, s: ['a'] },
    parents: [{ type: 'G', id: 'g' }],
    tags: { t: 'v', n: 2 },
  },
  { uid: { type: 'G', id: 'g' }, attrs: {}, parents: [{ type: 'G', id: 'top' }] },
];

describe('evaluation semantics (native == cedar-wasm)', () => {
  it('Long arithmetic overflows to errors, everywhere in the i64 range', () => {
    const exprs = [
      '9223372036854775807 + 1 > 0',
      '9223372036854775807 + 0 > 0',
      '-9223372036854775808 - 1 < 0',
      '-9223372036854775808 + 1 < 0',
      '-(-9223372036854775808) > 0',
      '--9223372036854775807 > 0',
      '3037000500 * 3037000500 > 0',
      '3037000499 * 3037000499 == 9223372030926249001',
      '-3037000500 * 3037000500 < 0',
      '9007199254740993 - 9007199254740992 == 1',
      '9007199254740993 == 9007199254740992',
      '4611686018427387904 * 2 > 0',
      '4611686018427387904 * -2 == -9223372036854775808',
      '9223372036854775807 > 9223372036854775806',
      '[9007199254740993].contains(9007199254740992)',
    ];
    expect(disagreements(exprs)).toEqual([]);
    expect(nativeOutcome('9223372036854775807 + 1 > 0')).toBe('error');
    expect(nativeOutcome('4611686018427387904 * -2 == -9223372036854775808')).toBe('true');
  });

  it('has, nested has and attribute access', () => {
    const exprs = [
      'U::"u" has n',
      'U::"u" has rec.a.b',
      'U::"u" has rec.a.c',
      'U::"u" has nope.a',
      'U::"nobody" has n',
      'G::"g" has n',
      '{a: {b: 1}} has a.b',
      '{a: 1} has a.b',
      '1 has a',
      'U::"nobody".n == 1',
      'U::"u".nope == 1',
      'U::"u".rec.a.b == 1',
      'U::"u"["rec"]["a"] == {b: 1}',
      '{a: 1}.b == 1',
      'G::"top".x == 1',
    ];
    expect(disagreements(exprs, ENTITIES)).toEqual([]);
    expect(nativeOutcome('U::"u" has rec.a.c', ENTITIES)).toBe('false');
    expect(nativeOutcome('{a: 1} has a.b', ENTITIES)).toBe('error');
  });

  it('tags', () => {
    const exprs = [
      'U::"u".hasTag("t")',
      'U::"u".hasTag("x")',
      'U::"u".getTag("t") == "v"',
      'U::"u".getTag("x") == "v"',
      'U::"nobody".hasTag("t")',
      'U::"nobody".getTag("t") == 1',
      'G::"g".getTag("t") == 1',
      'U::"u".hasTag(1)',
      '"u".hasTag("t")',
      'U::"u".getTag("n") + 1 == 3',
    ];
    expect(disagreements(exprs, ENTITIES)).toEqual([]);
  });

  it('in over the hierarchy and over sets, with its type errors', () => {
    const exprs = [
      'U::"u" in G::"top"',
      'U::"u" in U::"u"',
      'U::"nobody" in U::"nobody"',
      'U::"nobody" in G::"g"',
      'G::"top" in U::"u"',
      'U::"u" in [G::"x", G::"top"]',
      'U::"u" in []',
      'U::"u" in [G::"top", 1]',
      '1 in [U::"u"]',
      'U::"u" in "G"',
      'U::"u" in {a: 1}',
    ];
    expect(disagreements(exprs, ENTITIES)).toEqual([]);
  });

  it('&&, || and if short-circuit, and type-check what they evaluate', () => {
    const exprs = [
      'false && 1',
      'true && 1',
      '1 && true',
      'true || 1',
      'false || 1',
      'false || (1 + "a" == 2)',
      'true || (1 + "a" == 2)',
      'if true then true else 1',
      'if false then true else 1',
      'if 1 then true else false',
      '!1',
      '!!true',
      '(if true then 1 else "a") == 1',
    ];
    expect(disagreements(exprs)).toEqual([]);
  });

  it('equality and comparison across types', () => {
    const exprs = [
      '1 == "1"',
      '[1, 2] == [2, 1, 1]',
      '[1] == [1, 2]',
      '[1, 2] == [1]',
      '[] == [[]]',
      '[[1, 2]] == [[1]]',
      '{a: [1]} == {a: [1, 2]}',
      '{a: [1]} == {a: [1, 1]}',
      'U::"u" == U::"u"',
      'ip("1.2.3.4") == ip("1.2.3.4/32")',
      'decimal("1.0") == decimal("1.0000")',
      '1 < "a"',
      '"a" < "b"',
      'datetime("2024-01-01") < duration("1h")',
      'datetime("2024-01-01") == datetime("2024-01-01T00:00:00Z")',
      'duration("60m") == duration("1h")',
      '[] == {}',
      'true == 1',
      '1 + true == 2',
      '[1].containsAll(1)',
      '[1].containsAny([1])',
      '[].isEmpty()',
      '"a".isEmpty()',
      '[[1]].contains([1])',
      '[{a: 1}].contains({a: 1})',
    ];
    expect(disagreements(exprs)).toEqual([]);
  });

  it('is, like and string escapes', () => {
    const exprs = [
      'U::"u" is U',
      'U::"u" is G',
      'U::"u" is U in G::"top"',
      'U::"u" is G in G::"top"',
      '"u" is U',
      'U::"u" is U in 1',
      'U::"u" is G in 1',
      '"a*b" like "a\\*b"',
      '"a\\\\b" like "a\\\\*"',
      '"" like "*"',
      '"x" like ""',
      '1 like "*"',
      '"🙂" like "?"',
      '"🙂x" like "*x"',
      '"\\u{1F642}" == "🙂"',
      '"a\\u{2a}b" like "a\\u{2a}b"',
    ];
    expect(disagreements(exprs, ENTITIES)).toEqual([]);
  });
});
