import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { RevocationEntry } from '../../../src/revocation/revocation-entry.js';
import { RevocationList } from '../../../src/revocation/revocation-list.js';

const NOW = 1_800_000_000;
let seq = 0;
const entry = (over: Partial<RevocationEntry>): RevocationEntry => ({
  seq: ++seq,
  kind: 'jti',
  value: 'x',
  expiresAt: NOW + 3600,
  createdAt: NOW,
  ...over,
});
const claims = (over: Record<string, unknown> = {}) => ({
  iss: 'https://i',
  sub: 'alice',
  jti: 'j1',
  sid: 's1',
  iat: NOW - 100,
  ...over,
});

describe('RevocationList', () => {
  it('revokes by jti, by session and by subject issued before a time', () => {
    const list = new RevocationList();
    expect(list.isRevoked(claims(), NOW)).toBe(false);
    list.apply(
      {
        seq: 3,
        reset: false,
        entries: [
          entry({ kind: 'jti', value: 'j9' }),
          entry({ kind: 'sid', value: 's1' }),
          entry({ kind: 'sub', value: 'bob', issuedBefore: NOW }),
        ],
      },
      NOW,
    );
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
    list.apply(
      {
        seq: 1,
        reset: false,
        entries: [entry({ kind: 'sub', value: 'alice', issuer: 'https://other', issuedBefore: NOW })],
      },
      NOW,
    );
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

  it('merges a reset page into what it holds: a revocation stays until its own expiry, whatever the feed says', () => {
    const list = new RevocationList();
    expect(
      list.apply({ feed: 'f1', seq: 2, reset: true, entries: [entry({ value: 'a' }), entry({ value: 'b' })] }, NOW),
    ).toEqual({ changed: true, reset: { feedChanged: false, kept: 0 } });
    expect([list.seq, list.feed]).toEqual([2, 'f1']);
    expect(list.apply({ feed: 'f1', seq: 2, reset: false, entries: [] }, NOW)).toEqual({ changed: false });
    // The control plane lost its data: a new feed, numbered from 1 again, without a and b.
    expect(list.apply({ feed: 'f2', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'c' })] }, NOW)).toEqual({
      changed: true,
      reset: { feedChanged: true, kept: 2 },
    });
    expect([list.seq, list.feed, list.size]).toEqual([1, 'f2', 3]);
    for (const jti of ['a', 'b', 'c']) expect(list.isRevoked(claims({ jti, sid: 'x' }), NOW)).toBe(true);
    // The same revocation sent again (a resync of the same feed) is held once.
    expect(list.apply({ feed: 'f2', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'c' })] }, NOW)).toEqual({
      changed: false,
      reset: { feedChanged: false, kept: 2 },
    });
    expect(list.size).toBe(3);
  });

  it('tells entries apart by what they do, not by number: a new feed reusing a number cannot shorten a revocation', () => {
    const list = new RevocationList();
    list.apply({ feed: 'f1', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'j', expiresAt: NOW + 10 })] }, NOW);
    list.apply(
      { feed: 'f2', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'j', expiresAt: NOW + 100 })] },
      NOW,
    );
    expect(list.isRevoked(claims({ jti: 'j', sid: 'x' }), NOW + 50)).toBe(true);
    // And the reverse order: the longer one held first, a shorter one with the same number later.
    const other = new RevocationList();
    other.apply(
      { feed: 'f1', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'j', expiresAt: NOW + 100 })] },
      NOW,
    );
    other.apply(
      { feed: 'f2', seq: 1, reset: true, entries: [entry({ seq: 1, value: 'j', expiresAt: NOW + 10 })] },
      NOW,
    );
    expect(other.isRevoked(claims({ jti: 'j', sid: 'x' }), NOW + 50)).toBe(true);
  });

  it('restores what entries() gave out, with its place in the feed', () => {
    const list = new RevocationList();
    list.apply(
      {
        feed: 'f1',
        seq: 5,
        reset: true,
        entries: [
          entry({ value: 'a' }),
          entry({ kind: 'sub', value: 'bob', issuedBefore: NOW }),
          entry({ value: 'old', expiresAt: NOW + 1 }),
        ],
      },
      NOW,
    );
    const copy = new RevocationList();
    copy.restore({ feed: list.feed, seq: list.seq, entries: list.entries(NOW) }, NOW + 2);
    expect([copy.feed, copy.seq, copy.size]).toEqual(['f1', 5, 2]);
    expect(copy.isRevoked(claims({ jti: 'a', sid: 'x' }), NOW + 2)).toBe(true);
    expect(copy.isRevoked(claims({ sub: 'bob', jti: 'z', sid: 'x', iat: NOW - 1 }), NOW + 2)).toBe(true);
  });

  // The indexed list against the plainest statement of its meaning: a token is revoked at `now` when any
  // entry ever received, from any page of any feed, matches it and has not expired.
  it('agrees with "any entry ever received that matches and is live" on generated feeds and claims', () => {
    const value = fc.constantFrom('v1', 'v2', 'v3');
    const entryArb = fc
      .record({
        seq: fc.integer({ min: 1, max: 5 }),
        kind: fc.constantFrom('jti', 'sid', 'sub'),
        value,
        issuer: fc.option(fc.constantFrom('https://i', 'https://o'), { nil: undefined }),
        issuedBefore: fc.option(fc.integer({ min: NOW - 50, max: NOW + 50 }), { nil: undefined }),
        expiresAt: fc.integer({ min: NOW - 5, max: NOW + 60 }),
        createdAt: fc.constant(NOW),
      })
      .map(
        (e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as RevocationEntry,
      );
    const pageArb = fc.record({
      feed: fc.option(fc.constantFrom('f1', 'f2'), { nil: undefined }),
      seq: fc.integer({ min: 0, max: 5 }),
      reset: fc.boolean(),
      entries: fc.array(entryArb, { maxLength: 4 }),
      at: fc.integer({ min: 0, max: 30 }),
    });
    const claimsArb = fc.record({
      iss: fc.constantFrom('https://i', 'https://o'),
      sub: value,
      jti: fc.option(value, { nil: undefined }),
      sid: fc.option(value, { nil: undefined }),
      iat: fc.option(fc.integer({ min: NOW - 60, max: NOW + 60 }), { nil: undefined }),
    });
    const matches = (
      e: RevocationEntry,
      c: { iss: string; sub: string; jti?: string | undefined; sid?: string | undefined; iat?: number | undefined },
      now: number,
    ) =>
      e.expiresAt > now &&
      (e.issuer === undefined || e.issuer === c.iss) &&
      (e.issuedBefore === undefined || c.iat === undefined || c.iat < e.issuedBefore) &&
      (e.kind === 'jti' ? c.jti === e.value : e.kind === 'sid' ? c.sid === e.value : c.sub === e.value);
    fc.assert(
      fc.property(
        fc.array(pageArb, { maxLength: 8 }),
        fc.array(claimsArb, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        (pages, tokens, later) => {
          const list = new RevocationList();
          const received: RevocationEntry[] = [];
          let clock = NOW;
          for (const { at, ...page } of pages) {
            clock = Math.max(clock, NOW + at);
            list.apply(page, clock);
            received.push(...page.entries);
            for (const c of tokens) expect(list.isRevoked(c, clock)).toBe(received.some((e) => matches(e, c, clock)));
          }
          const end = clock + later;
          list.sweep(end);
          for (const c of tokens) expect(list.isRevoked(c, end)).toBe(received.some((e) => matches(e, c, end)));
          expect(list.size).toBe(
            new Set(
              received
                .filter((e) => e.expiresAt > end)
                .map((e) => JSON.stringify([e.kind, e.value, e.issuer, e.issuedBefore, e.expiresAt])),
            ).size,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
