import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  insertionIndex,
  methodSet,
  mustPrecede,
  orderRoutes,
  routeSegments,
  shadowedPairs,
} from '../../../src/openapi/order-routes.js';
import { templatePath } from '../../../src/openapi/parse-path-template.js';
import { RouteTable } from '../../../src/policy/route-table.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 200);
const route = (path: string, method: string | string[] = 'GET') => ({
  path,
  segments: routeSegments(path),
  methods: methodSet(method),
});

describe('orderRoutes', () => {
  it("puts concrete paths before the templated paths that would take their requests (OpenAPI's rule)", () => {
    const ordered = orderRoutes([
      route('/users/{id}'),
      route('/users/me'),
      route('/users/{id}/repos'),
      route('/orgs/{org}'),
    ]).map((r) => r.path);
    expect(ordered).toEqual(['/users/me', '/users/{id}', '/users/{id}/repos', '/orgs/{org}']);
  });

  it("keeps document order where no route takes another's requests", () => {
    const paths = ['/b', '/a/{x}', '/c/{y}', '/a/b/{z}'];
    expect(orderRoutes(paths.map((p) => route(p))).map((r) => r.path)).toEqual(paths);
  });

  it('orders only routes whose methods overlap', () => {
    expect(mustPrecede(route('/users/me', 'GET'), route('/users/{id}', 'DELETE'))).toBe(false);
    expect(mustPrecede(route('/users/me', ['GET', 'HEAD']), route('/users/{id}', '*'))).toBe(true);
  });

  // Every route of an ordered table receives the requests its own template describes: the router (first
  // match in file order) and OpenAPI's most-specific-path rule agree.
  it("after ordering, the route table sends each template's requests to that template's route", () => {
    const segment = fc.oneof(fc.constantFrom('a', 'b', 'me'), fc.constant('{p}'));
    const paths = fc.uniqueArray(
      fc
        .array(segment, { minLength: 1, maxLength: 4 })
        .map((s) => `/${s.map((x, i) => (x === '{p}' ? `{p${i}}` : x)).join('/')}`),
      { minLength: 1, maxLength: 12, selector: (p) => p.replace(/\{p\d+\}/g, '{}') },
    );
    fc.assert(
      fc.property(paths, fc.shuffledSubarray(['GET', 'POST']), (list, extra) => {
        const routes = list.map((p, i) => ({ ...route(p, i % 2 === 0 ? 'GET' : ['GET', ...extra]), id: `r${i}` }));
        const ordered = orderRoutes(routes);
        expect(ordered).toHaveLength(routes.length);
        expect(shadowedPairs(ordered)).toEqual([]);
        const table = new RouteTable(
          ordered.map((r) => ({
            id: r.id,
            method: [...(r.methods as Set<string>)],
            path: r.path,
            action: 'a',
            resource: { type: 'T', id: 'x' },
            risk: 'medium' as const,
            allowWorkloads: false,
          })),
          (t) => t,
        );
        for (const r of routes) {
          // Parameter values that equal no literal: the request is one only this template describes.
          const request = r.segments.map((s, i) => ('literal' in s ? s.literal : `value${i}`));
          expect(table.match('GET', request)?.route.id).toBe(r.id);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('insertionIndex and shadowedPairs', () => {
  it('inserts a new route before the first existing route that would take its requests', () => {
    const list = [route('/a'), route('/users/{id}'), route('/b')];
    expect(insertionIndex(list, route('/users/me'))).toBe(1);
    expect(insertionIndex(list, route('/c'))).toBe(3);
  });

  it('reports a later route that an earlier one partly shadows', () => {
    expect(shadowedPairs([route('/users/{id}'), route('/x'), route('/users/me')])).toEqual([[0, 2]]);
  });

  it('writes the template back as it read it', () => {
    expect(templatePath(routeSegments('/a/{b}/c/'))).toBe('/a/{b}/c/');
  });
});
