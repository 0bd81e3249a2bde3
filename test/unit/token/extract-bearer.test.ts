import fc from 'fast-check';
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
    expect(extractBearer(`Bearer ${'a'.repeat(100)}.${'b'.repeat(100)}.c`, opts)).toEqual({
      reason: 'token_too_large',
    });
    expect(extractBearer(`Bearer ${'a'.repeat(60)}.${'b'.repeat(60)}.cw`, opts)).toEqual({
      token: `${'a'.repeat(60)}.${'b'.repeat(60)}.cw`,
    });
    expect(extractBearer(`Bearer ${'x'.repeat(10_000)}`, opts)).toEqual({ reason: 'token_too_large' });
  });
});

describe('extractBearer keeps one spelling per token', () => {
  const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 300);
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 40 });

  it('accepts canonical base64url parts and refuses any spare bit set or a dangling character (property)', () => {
    fc.assert(
      fc.property(
        bytes,
        bytes,
        bytes,
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 15 }),
        (a, b, c, which, bits) => {
          const parts = [a, b, c].map((x) => Buffer.from(x).toString('base64url'));
          expect(extractBearer(`Bearer ${parts.join('.')}`, { scheme: 'Bearer', maxBytes: 1024 })).toEqual({
            token: parts.join('.'),
          });
          const part = parts[which];
          const rest = part.length % 4;
          if (rest !== 0) {
            // The same bytes, spelled with trailing bits set: Buffer decodes both alike.
            const spare = rest === 2 ? bits & 0x0f : bits & 0x03;
            const last = B64URL.indexOf(part.at(-1)!);
            const altered = part.slice(0, -1) + B64URL[last | (spare === 0 ? 1 : spare)];
            expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(part, 'base64url'));
            const tampered = parts.map((p, i) => (i === which ? altered : p)).join('.');
            expect(extractBearer(`Bearer ${tampered}`, { scheme: 'Bearer', maxBytes: 1024 })).toEqual({
              reason: 'token_malformed',
            });
          }
          const dangling = parts
            .map((p, i) => (i === which ? p + 'A'.repeat((((1 - p.length) % 4) + 4) % 4 || 4) : p))
            .join('.');
          expect(extractBearer(`Bearer ${dangling}`, { scheme: 'Bearer', maxBytes: 1024 })).toEqual({
            reason: 'token_malformed',
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
