import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { hasDuplicateMembers } from '../../../src/token/has-duplicate-members.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 300);

describe('hasDuplicateMembers', () => {
  it.each([
    ['{"a":1,"a":2}', true],
    ['{"a":1,"\\u0061":2}', true],
    ['{"a\\"b":1,"a\\u0022b":2}', true],
    ['{"x":{"a":1,"b":{"c":[{"d":1,"d":2}]}}}', true],
    ['[{"a":1},{"a":1,"b":2,"a":3}]', true],
    ['{"a":1,"b":{"a":1},"c":[{"a":1}]}', false],
    ['{"a":"\\"a\\":1","b":["a","a"]}', false],
    ['{"":1,"":2}', true],
    ['{}', false],
    ['"a"', false],
    ['[1,2,{"k":[],"v":{}}]', false],
    [' { "a" : 1 , "b" : { "a" : 2 } , "a" : 3 } ', true],
  ])('%s -> %s', (json, want) => {
    JSON.parse(json); // the precondition: well-formed JSON
    expect(hasDuplicateMembers(json)).toBe(want);
  });

  it('finds no duplicates in anything JSON.stringify writes, and finds one inserted anywhere (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ maxLength: 6 }), (value, name) => {
        const text = JSON.stringify(value);
        expect(hasDuplicateMembers(text)).toBe(false);
        // Wrap the value in an object that names `name` twice, escaping the second spelling.
        const escaped = [...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
        const doubled = `{${JSON.stringify(name)}:${text},"${escaped}":null}`;
        expect(JSON.parse(doubled)[name]).toBeNull();
        expect(hasDuplicateMembers(doubled)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('does not loop on text that is not JSON (the precondition broken)', () => {
    expect(hasDuplicateMembers('{"a')).toBe(false);
    expect(hasDuplicateMembers('{"a\\')).toBe(false);
  });
});
