import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { unescapeCedar } from '../../../../src/engine/native/cedar-lexer.js';
import { likeMatcher } from '../../../../src/engine/native/compile-policy.js';
import { NativeEngine } from '../../../../src/engine/native/native-engine.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 500);

/** Reference: the pattern as an anchored regular expression (`*` is `[^]*`, everything else literal). */
function reference(pattern: (string | null)[], s: string): boolean {
  const src = pattern.map((p) => (p === null ? '[^]*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${src}$`, 'u').test(s);
}

const chars = fc.constantFrom('a', 'b', '*', 'ü', '🙂', '\n');
describe('like', () => {
  it('matches exactly what the reference matches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(null), fc.string({ unit: chars, maxLength: 3 })), { maxLength: 6 }),
        fc.string({ unit: chars, maxLength: 8 }),
        (pat, s) => {
          expect(likeMatcher(pat)(s)).toBe(reference(pat, s));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('reads \\* as a literal star and any other star (even \\u{2a}) as the wildcard', () => {
    expect(unescapeCedar('a\\*b', true)).toEqual(['a*b']);
    expect(unescapeCedar('a*b', true)).toEqual(['a', null, 'b']);
    expect(unescapeCedar('a\\u{2a}b', true)).toEqual(['a', null, 'b']);
    expect(() => unescapeCedar('a\\*b', false)).toThrow(/not a valid escape/);
    const engine = new NativeEngine({
      policies: {
        star: 'permit(principal, action, resource) when { context.s like "a\\*b" };',
        any: 'permit(principal, action, resource) when { context.s like "a*b" };',
      },
    });
    const ask = (s: string) => {
      const a = engine.isAuthorized({
        principal: { type: 'U', id: 'u' },
        action: { type: 'Action', id: 'x' },
        resource: { type: 'R', id: 'r' },
        context: { s },
      });
      return a.type === 'decision' ? [...a.reason].sort() : a;
    };
    expect(ask('a*b')).toEqual(['any', 'star']);
    expect(ask('axxb')).toEqual(['any']);
    expect(ask('ab')).toEqual(['any']);
    expect(ask('abc')).toEqual([]);
  });
});
