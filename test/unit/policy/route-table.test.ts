import { describe, expect, it } from 'vitest';

import { RouteTable } from '../../../src/policy/route-table.js';

const q = (t: string) => `Bank::${t}`;
const route = (over: Record<string, unknown>) => ({
  id: 'r',
  method: 'GET' as const,
  path: '/accounts/{id}',
  action: 'readAccount',
  resource: { type: 'Account', id: '{id}' },
  risk: 'low' as const,
  allowWorkloads: false,
  ...over,
});

describe('RouteTable', () => {
  it('matches method and template, extracting parameters into the resource id', () => {
    const table = new RouteTable(
      [
        route({ id: 'get' }),
        route({
          id: 'tx',
          method: ['POST', 'PUT'],
          path: '/accounts/{id}/transfers/{tx}',
          resource: { type: 'Transfer', id: '{id}/{tx}' },
        }),
      ],
      q,
    );
    const m = table.match('GET', ['accounts', 'a1'])!;
    expect(m.route.id).toBe('get');
    expect(m.route.resourceType).toBe('Bank::Account');
    expect(m.route.resourceId(m.params)).toBe('a1');
    const t = table.match('PUT', ['accounts', 'a1', 'transfers', 't9'])!;
    expect(t.route.resourceId(t.params)).toBe('a1/t9');
    expect(table.match('DELETE', ['accounts', 'a1'])).toBeUndefined();
    expect(table.match('GET', ['accounts'])).toBeUndefined();
    expect(table.match('GET', ['accounts', ''])).toBeUndefined();
    expect(table.match('GET', ['accounts', 'a1', 'x'])).toBeUndefined();
  });

  it('tries routes in file order', () => {
    const table = new RouteTable(
      [route({ id: 'me', path: '/accounts/me', resource: { type: 'Account', id: 'me' } }), route({ id: 'any' })],
      q,
    );
    expect(table.match('GET', ['accounts', 'me'])!.route.id).toBe('me');
    expect(table.match('GET', ['accounts', 'x'])!.route.id).toBe('any');
  });

  it('matches any method with "*"', () => {
    const table = new RouteTable([route({ method: '*' })], q);
    expect(table.match('PATCH', ['accounts', 'x'])).toBeDefined();
  });

  it('rejects duplicate ids, partial-segment parameters and unknown placeholders', () => {
    expect(() => new RouteTable([route({}), route({})], q)).toThrow(/duplicate id/);
    expect(() => new RouteTable([route({ path: '/accounts/acc-{id}' })], q)).toThrow(/whole segment/);
    expect(() => new RouteTable([route({ resource: { type: 'Account', id: '{nope}' } })], q)).toThrow(
      /does not define/,
    );
  });
});
