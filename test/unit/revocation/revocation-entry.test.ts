import { describe, expect, it } from 'vitest';

import {
  parseRevocationEntry,
  parseRevocationFeed,
  parseRevocationRequest,
  REVOCATION_LIMITS,
} from '../../../src/revocation/revocation-entry.js';

const NOW = 1_800_000_000;

describe('parseRevocationRequest', () => {
  it('accepts each kind and resolves ttlSeconds against the clock', () => {
    expect(parseRevocationRequest({ kind: 'jti', value: 'tok-1', expiresAt: NOW + 60 }, NOW)).toEqual({
      ok: true,
      value: { kind: 'jti', value: 'tok-1', expiresAt: NOW + 60 },
    });
    expect(parseRevocationRequest({ kind: 'sid', value: 's-1', issuer: 'https://idp', ttlSeconds: 3600 }, NOW)).toEqual(
      {
        ok: true,
        value: { kind: 'sid', value: 's-1', issuer: 'https://idp', expiresAt: NOW + 3600 },
      },
    );
    expect(
      parseRevocationRequest({ kind: 'sub', value: 'alice', issuedBefore: NOW, ttlSeconds: 60 }, NOW),
    ).toMatchObject({
      ok: true,
      value: { kind: 'sub', issuedBefore: NOW },
    });
  });

  it.each([
    [[], 'malformed', 'body: expected a JSON object'],
    [{ kind: 'jwt', value: 'x', ttlSeconds: 1 }, 'malformed', 'kind: expected one of jti, sid, sub'],
    [{ kind: 'jti', value: '', ttlSeconds: 1 }, 'malformed', 'value: expected a non-empty string'],
    [{ kind: 'jti', value: 'a\nb', ttlSeconds: 1 }, 'malformed', 'value: contains control characters'],
    [
      { kind: 'jti', value: 'x'.repeat(REVOCATION_LIMITS.maxValueLength + 1), ttlSeconds: 1 },
      'malformed',
      'value: longer than 1024 characters',
    ],
    [{ kind: 'jti', value: 'x', issuer: 7, ttlSeconds: 1 }, 'malformed', 'issuer: expected a non-empty string'],
    [{ kind: 'jti', value: 'x' }, 'malformed', 'exactly one of expiresAt and ttlSeconds is required'],
    [
      { kind: 'jti', value: 'x', ttlSeconds: 1, expiresAt: NOW + 5 },
      'malformed',
      'exactly one of expiresAt and ttlSeconds is required',
    ],
    [{ kind: 'jti', value: 'x', ttlSeconds: 1.5 }, 'malformed', 'ttlSeconds: expected an integer number of seconds'],
    [{ kind: 'jti', value: 'x', ttlSeconds: 0 }, 'out_of_range', 'ttlSeconds: must be between 1 and 31622400'],
    [{ kind: 'jti', value: 'x', expiresAt: NOW }, 'expired', 'expiresAt: is in the past'],
    [
      { kind: 'jti', value: 'x', expiresAt: NOW * 1000 },
      'out_of_range',
      'expiresAt: more than 31622400 seconds ahead (epoch seconds, not milliseconds?)',
    ],
    [
      { kind: 'jti', value: 'x', expiresAt: '1800000100' },
      'malformed',
      'expiresAt: expected an integer epoch time in seconds',
    ],
    [
      { kind: 'sub', value: 'alice', ttlSeconds: 60 },
      'malformed',
      'issuedBefore: required for kind sub (tokens with iat < issuedBefore are revoked)',
    ],
    [
      { kind: 'sub', value: 'alice', issuedBefore: NOW * 1000, ttlSeconds: 60 },
      'out_of_range',
      'issuedBefore: lies in the future (epoch seconds, not milliseconds?)',
    ],
    [{ kind: 'jti', value: 'x', ttlSeconds: 60, seq: 4 }, 'malformed', 'seq: unknown field'],
  ])('refuses %j as %s', (body, reason, detail) => {
    expect(parseRevocationRequest(body, NOW)).toEqual({ ok: false, reason, detail });
  });
});

describe('parseRevocationEntry and parseRevocationFeed', () => {
  const entry = (seq: number, extra: Record<string, unknown> = {}) => ({
    seq,
    kind: 'jti',
    value: `t${seq}`,
    expiresAt: NOW + 60,
    createdAt: NOW,
    ...extra,
  });

  it('accepts a page and ignores fields a newer control plane may add', () => {
    const page = { seq: 9, reset: false, entries: [entry(3), entry(9, { note: 'new field' })], extra: true };
    const parsed = parseRevocationFeed(page);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value).toEqual({ seq: 9, reset: false, entries: [entry(3), entry(9)] });
  });

  it.each([
    [{ seq: -1, reset: false, entries: [] }, 'seq: expected a non-negative integer'],
    [{ seq: 1, reset: 'no', entries: [] }, 'reset: expected a boolean'],
    [{ seq: 1, reset: false }, 'entries: expected an array'],
    [{ seq: 5, reset: false, entries: [entry(4), entry(4)] }, 'entries[1].seq: not ascending'],
    [{ seq: 5, reset: false, entries: [entry(6)] }, "entries[0].seq: beyond the page's seq"],
    [
      { seq: 5, reset: true, entries: [entry(2, { kind: 'email' })] },
      'entries[0]: kind: expected one of jti, sid, sub',
    ],
    [
      { seq: 5, reset: true, entries: [entry(2, { createdAt: undefined })] },
      'entries[0]: createdAt: expected an integer epoch time in seconds',
    ],
    [{ seq: 5, reset: true, entries: [entry(0)] }, 'entries[0]: seq: expected a positive integer'],
  ])('refuses %j', (page, detail) => {
    expect(parseRevocationFeed(page)).toEqual({ ok: false, reason: 'malformed', detail });
  });

  it('does not judge expiry: a client drops expired entries itself', () => {
    expect(parseRevocationEntry(entry(1, { expiresAt: 1 })).ok).toBe(true);
  });
});
