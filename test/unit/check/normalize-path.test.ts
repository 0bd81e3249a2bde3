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
  ])('refuses %j (%s)', (raw, detail) => {
    expect(normalizePath(raw)).toEqual({ ok: false, detail });
  });

  it('refuses paths over the length limit', () => {
    expect(normalizePath(`/${'a'.repeat(9000)}`)).toEqual({ ok: false, detail: 'path too long' });
  });

  it('does not let the query hide a dot segment', () => {
    expect(normalizePath('/a/..?x=/b').ok).toBe(false);
    expect(normalizePath('/a/b?x=/../c')).toMatchObject({ ok: true, value: { path: '/a/b' } });
  });
});
