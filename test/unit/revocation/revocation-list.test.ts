import { describe, expect, it } from 'vitest';
import type { RevocationEntry } from '../../../src/revocation/revocation-entry.js';
import { RevocationList } from '../../../src/revocation/revocation-list.js';

const NOW = 1_800_000_000;
let seq = 0;
const entry = (over: Partial<RevocationEntry>): RevocationEntry => ({ seq: ++seq, kind: 'jti', value: 'x', expiresAt: NOW + 3600, createdAt: NOW, ...over });
const claims = (over: Record<string, unknown> = {}) => ({ iss: 'https://i', sub: 'alice', jti: 'j1', sid: 's1', iat: NOW - 100, ...over });

describe('RevocationList', () => {
  it('revokes by jti, by session and by subject issued before a time', () => {
    const list = new RevocationList();
    expect(list.isRevoked(claims(), NOW)).toBe(false);
    list.apply({ seq: 3, reset: false, entries: [entry({ kind: 'jti', value: 'j9' }), entry({ kind: 'sid', value: 's1' }), entry({ kind: 'sub', value: 'bob', issuedBefore: NOW })] }, NOW);
    expect(list.size).toBe(3);
    expect(list.isRevoked(claims({ jti: 'j9', sid: 'other' }), NOW)).toBe(true);
    expect(list.isRevoked(claims(), NOW)).toBe(true); // sid s1
    expect(list.isRevoked(claims({ sid: 'other' }), NOW)).toBe(false);
    expect(list.isRevoked(claims({ sub: 'bob', sid: 'other', iat: NOW - 5 }), NOW)).toBe(true);
    // A fresh login after the revocation is not affected.
    expect(list.isRevoked(claims({ sub: 'bob', sid: 'other', iat: NOW + 5 }), NOW)).toBe(false);
    // A token without iat cannot show it came later.
    expect(list.isRevoked(claims({ sub: 'bob', sid: 'other', iat: undefined }), NOW)).toBe(true);
  });

  it('limits an entry to its issuer when one is given', () => {
    const list = new RevocationList();
    list.apply({ seq: 1, reset: false, entries: [entry({ kind: 'sub', value: 'alice', issuer: 'https://other', issuedBefore: NOW })] }, NOW);
    expect(list.isRevoked(claims({ sid: 'x' }), NOW)).toBe(false);
    expect(list.isRevoked(claims({ sid: 'x', iss: 'https://other' }), NOW)).toBe(true);
  });

  it('forgets entries when they expire, keeping memory bounded by the live set', () => {
    const list = new RevocationList();
    list.apply({ seq: 1, reset: false, entries: [entry({ kind: 'jti', value: 'j1', expiresAt: NOW + 10 })] }, NOW);
    expect(list.isRevoked(claims(), NOW + 9)).toBe(true);
    expect(list.isRevoked(claims(), NOW + 10)).toBe(false);
    list.sweep(NOW + 10);
    expect(list.size).toBe(0);
    // Entries already expired on arrival are not stored at all.
    list.apply({ seq: 2, reset: false, entries: [entry({ value: 'old', expiresAt: NOW - 1 })] }, NOW);
    expect(list.size).toBe(0);
  });

  it('replaces everything on a reset page, tracks seq, and reports whether anything changed', () => {
    const list = new RevocationList();
    expect(list.apply({ seq: 2, reset: false, entries: [entry({ value: 'a' }), entry({ value: 'b' })] }, NOW)).toBe(true);
    expect(list.seq).toBe(2);
    expect(list.apply({ seq: 2, reset: false, entries: [] }, NOW)).toBe(false);
    expect(list.apply({ seq: 7, reset: true, entries: [entry({ value: 'c' })] }, NOW)).toBe(true);
    expect(list.seq).toBe(7);
    expect(list.size).toBe(1);
    expect(list.isRevoked(claims({ jti: 'a', sid: 'x' }), NOW)).toBe(false);
    expect(list.isRevoked(claims({ jti: 'c', sid: 'x' }), NOW)).toBe(true);
  });
});
