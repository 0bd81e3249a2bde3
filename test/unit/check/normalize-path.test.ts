import { describe, expect, it } from 'vitest';

import { normalizePath } from '../../../src/check/normalize-path.js';

describe('normalizePath', () => {
  it.each([
    ['/accounts/acc-1', ['accounts', 'acc-1'], '/accounts/acc-1'],
    ['/accounts/acc-1?x=1&y=2', ['accounts', 'acc-1'], '/accounts/acc-1'],
    ['/accounts/acc-1#frag', ['accounts', 'acc-1'], '/accounts/acc-1'],
    ['/a%20b/caf%C3%A9', ['a b', 'café'], '/a b/café'],
    ['/accounts/', ['accounts', ''], '/accounts/'],
    ['/', [''], '/'],
  ])('%s -> %j', (raw, segments, path) => {
    const result = normalizePath(raw);
    expect(result).toEqual({ ok: true, value: { segments, path } });
  });

  it.each([
    ['', 'empty path'],
    ['accounts/1', 'path is not absolute'],
    ['*', 'path is not absolute'],
    ['/a/%2F/b', 'encoded slash, backslash or NUL'],
    ['/a/..%2f..%2fetc', 'encoded slash, backslash or NUL'],
    ['/a/%5c', 'encoded slash, backslash or NUL'],
    ['/a/%00', 'encoded slash, backslash or NUL'],
    ['/a/../b', 'dot segment'],
    ['/a/./b', 'dot segment'],
    ['/a/%2e%2E/b', 'dot segment'],
    ['/a/%2e/b', 'dot segment'],
    ['/a//b', 'empty segment'],
    ['/a/%zz', 'invalid percent-encoding'],
    ['/a/%ff', 'invalid percent-encoding'],
    ['/a/b\\c', 'control character or backslash'],
    ['/a/%0a', 'control character or backslash'],
    ['/a/\u0007', 'control character or backslash'],
    // Java servers drop `;...` from a segment before routing: these are `..`, `.` and `/admin` there.
    ['/public/..;/admin', 'dot segment with a path parameter'],
    ['/public/..;jsessionid=1/admin', 'dot segment with a path parameter'],
    ['/public/.;/admin', 'dot segment with a path parameter'],
    ['/public/%2e%2e;/admin', 'dot segment with a path parameter'],
    ['/public/..%3b/admin', 'dot segment with a path parameter'],
    ['/accounts/acc-1;v=2', 'semicolon in a segment (paths.allowSemicolons)'],
    ['/accounts/acc-1%3Bv=2', 'semicolon in a segment (paths.allowSemicolons)'],
  ])('refuses %j (%s)', (raw, detail) => {
    expect(normalizePath(raw)).toEqual({ ok: false, detail });
  });

  it('refuses paths over the length limit', () => {
    expect(normalizePath(`/${'a'.repeat(9000)}`)).toEqual({ ok: false, detail: 'path too long' });
    expect(normalizePath(`/${'a'.repeat(100)}`, { maxLength: 50 })).toEqual({ ok: false, detail: 'path too long' });
  });

  it('does not let the query hide a dot segment', () => {
    expect(normalizePath('/a/..?x=/b').ok).toBe(false);
    expect(normalizePath('/a/b?x=/../c')).toMatchObject({ ok: true, value: { path: '/a/b' } });
  });

  it('with paths.allowSemicolons, keeps matrix parameters in the segment but still refuses dot and empty bases', () => {
    const allow = { allowSemicolons: true };
    expect(normalizePath('/cars;color=red/x', allow)).toEqual({
      ok: true,
      value: { segments: ['cars;color=red', 'x'], path: '/cars;color=red/x' },
    });
    expect(normalizePath('/public/..;/admin', allow)).toEqual({
      ok: false,
      detail: 'dot segment with a path parameter',
    });
    expect(normalizePath('/public/.;x/admin', allow)).toEqual({
      ok: false,
      detail: 'dot segment with a path parameter',
    });
    expect(normalizePath('/public/;x/admin', allow)).toEqual({ ok: false, detail: 'path parameter without a segment' });
  });
});
