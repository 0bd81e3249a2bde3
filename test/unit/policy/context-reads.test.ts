import { describe, expect, it } from 'vitest';

import { cedar } from '../../../src/cedar/cedar.js';
import { contextReads } from '../../../src/policy/context-reads.js';

const reads = (...policies: string[]) =>
  contextReads(
    policies.map((p) => {
      const r = cedar.policyToJson(p);
      if (r.type !== 'success') throw new Error(JSON.stringify(r.errors));
      return r.json;
    }),
  );

describe('contextReads', () => {
  it('finds attribute paths, has-checks and paths inside extension calls', () => {
    expect(
      reads(
        'permit(principal, action, resource) when { context.token.scope.contains("x") };',
        'permit(principal, action, resource) when { context.token has acr && context.token.acr == "mfa" };',
        'permit(principal, action, resource) when { context.request.sourceIp.isInRange(ip("10.0.0.0/8")) };',
      ),
    ).toEqual([
      { path: ['token', 'scope'], presence: false },
      { path: ['token', 'acr'], presence: false },
      { path: ['request', 'sourceIp'], presence: false },
    ]);
  });

  it('returns nothing when no policy looks at the context', () => {
    expect(reads('permit(principal, action, resource) when { principal == resource.owner };')).toEqual([]);
  });

  it('keeps only the shortest path when one covers another', () => {
    expect(
      reads('permit(principal, action, resource) when { context.token == {"a": 1} || context.token.acr == "x" };'),
    ).toEqual([{ path: ['token'], presence: false }]);
  });

  it('records a has-test as presence only, which covers nothing below it', () => {
    expect(
      reads('permit(principal, action, resource) when { context has token && context.token.acr == "x" };'),
    ).toEqual([
      { path: ['token'], presence: true },
      { path: ['token', 'acr'], presence: false },
    ]);
  });

  it('gives up (all) when the context is used as a whole', () => {
    expect(reads('permit(principal, action, resource) when { context == {} };')).toBe('all');
    expect(
      reads(
        'permit(principal, action, resource) when { context has token };',
        'permit(principal, action, resource) when { [context].contains(context) };',
      ),
    ).toBe('all');
  });
});
