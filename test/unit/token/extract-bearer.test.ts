import { describe, expect, it } from 'vitest';
import { extractBearer } from '../../../src/token/extract-bearer.js';

const opts = { scheme: 'Bearer', maxBytes: 128 };
const T = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';

describe('extractBearer', () => {
  it('takes a strict compact JWS after the scheme, any scheme casing', () => {
    expect(extractBearer(`Bearer ${T}`, opts)).toEqual({ token: T });
    expect(extractBearer(`bearer ${T}`, opts)).toEqual({ token: T });
    expect(extractBearer(`BEARER   ${T} `, opts)).toEqual({ token: T });
  });

  it('reports a missing token for no header and for other schemes (plain Bearer challenge)', () => {
    expect(extractBearer(undefined, opts)).toEqual({ reason: 'token_missing' });
    expect(extractBearer('', opts)).toEqual({ reason: 'token_missing' });
    expect(extractBearer('Basic YWxhZGRpbjpvcGVuc2VzYW1l', opts)).toEqual({ reason: 'token_missing' });
  });

  it.each([
    ['Bearer', 'scheme only'],
    ['Bearer ', 'empty token'],
    [`Bearer ${T}=`, 'padding'],
    [`Bearer ${T.replace('.', '. ')}`, 'inner whitespace'],
    [`Bearer ${T}.x`, 'four parts (JWE has five)'],
    ['Bearer a.b.', 'empty signature (alg none)'],
    ['Bearer a..c', 'empty payload'],
    [`Bearer ${T.replace('c2ln', 'c2l+')}`, 'standard base64 alphabet'],
    [`Bearer ${T}, Bearer ${T}`, 'two headers joined by Envoy'],
  ])('refuses %j as malformed (%s)', (value) => {
    expect(extractBearer(value, opts)).toEqual({ reason: 'token_malformed' });
  });

  it('applies the size cap before parsing', () => {
    expect(extractBearer(`Bearer ${'a'.repeat(100)}.${'b'.repeat(100)}.c`, opts)).toEqual({ reason: 'token_too_large' });
    expect(extractBearer(`Bearer ${'a'.repeat(60)}.${'b'.repeat(60)}.c`, opts)).toEqual({ token: `${'a'.repeat(60)}.${'b'.repeat(60)}.c` });
    expect(extractBearer(`Bearer ${'x'.repeat(10_000)}`, opts)).toEqual({ reason: 'token_too_large' });
  });
});
