import { describe, expect, it } from 'vitest';

import { parseJson } from '../../../src/util/parse-json.js';

describe('parseJson', () => {
  it('reads a document with or without a leading byte order mark alike, and nothing else is forgiven', () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseJson('\uFEFF{"a":1}')).toEqual({ a: 1 });
    expect(() => parseJson('\uFEFF\uFEFF{"a":1}')).toThrow(SyntaxError);
    expect(() => parseJson('{"a":1}\uFEFF')).toThrow(SyntaxError);
    expect(() => parseJson("{'a':1}")).toThrow(SyntaxError);
  });
});
