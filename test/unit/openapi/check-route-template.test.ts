// Two readings of "can authzd's router serve this path": the importer's own (parsePathTemplate, whose
// reasons people read) and the sidecar's (RouteTable + normalizePath, which decide real requests). They
// must agree on every template, so this compares them on generated ones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { normalizePath } from '../../../src/check/normalize-path.js';
import { checkRouteTemplate } from '../../../src/openapi/check-route-template.js';
import { parsePathTemplate } from '../../../src/openapi/parse-path-template.js';
import { RouteTable } from '../../../src/policy/route-table.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 400);

// Segments as OpenAPI documents write them, the awkward ones included.
const segment = fc.oneof(
  fc.constantFrom(
    'pets',
    'v1',
    'me',
    'a b',
    'caf%C3%A9',
    '%41',
    'x:y',
    '@',
    '',
    '.',
    '..',
    '%2e',
    '%2F',
    '%5C',
    '%00',
    '%zz',
    '%',
    'a\\b',
    'tab\t',
    '?q',
    'a#b',
    'x?y=1',
  ),
  fc.constantFrom(
    '{id}',
    '{petId}',
    '{pet-id}',
    '{pet.id}',
    '{1st}',
    '{+path}',
    '{path*}',
    '{}',
    '{a}{b}',
    'file.{ext}',
    '{name}.json',
    'pre{x}',
    '{x',
    'y}',
    '{%41}',
  ),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,6}$/),
  fc.stringMatching(/^\{[A-Za-z_][A-Za-z0-9_-]{0,5}\}$/),
);
const template = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
// What a client may put in a parameter: anything but a slash, encoded as a client would.
// Values authzd refuses in any path segment are left out: slashes, dot segments, controls, and `;` (path
// parameters, refused unless paths.allowSemicolons; docs/openapi.md lists these limits).
const paramValue = fc
  .string({ minLength: 1, maxLength: 8 })
  .filter(
    (v) => !v.includes('/') && !v.includes(';') && v !== '.' && v !== '..' && !/[\u0000-\u001f\u007f-\u009f\\]/.test(v),
  );

describe('checkRouteTemplate against the route table and path normaliser', () => {
  it('a template the importer accepts is served by the router, parameters and all, for any values', () => {
    fc.assert(
      fc.property(template, fc.array(paramValue, { minLength: 6, maxLength: 6 }), (path, values) => {
        const parsed = parsePathTemplate(path);
        if (!parsed.ok) return;
        const resourceId = parsed.segments.flatMap((s) => ('param' in s ? [`{${s.param}}`] : [])).join('/') || 'app';
        if (checkRouteTemplate('GET', parsed.segments, parsed.path, resourceId) !== undefined) return;
        const table = new RouteTable(
          [
            {
              id: 'r',
              method: 'GET',
              path: parsed.path,
              action: 'a',
              resource: { type: 'T', id: resourceId },
              risk: 'medium',
              allowWorkloads: false,
            },
          ],
          (t) => t,
        );
        // The request as the document means it: its path, each parameter filled in by a client.
        const expected: Record<string, string> = {};
        const request = path
          .slice(1)
          .split('/')
          .map((raw, i) => {
            const s = parsed.segments[i];
            if ('literal' in s) return raw;
            expected[s.param] = values[i]!;
            return encodeURIComponent(values[i]);
          });
        const normalized = normalizePath(`/${request.join('/')}`);
        expect(normalized.ok).toBe(true);
        const match = table.match('GET', normalized.ok ? normalized.value.segments : []);
        expect(match?.route.id).toBe('r');
        expect(match?.params).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('a template the importer refuses is one no request can reach as the document means it', () => {
    fc.assert(
      fc.property(template, (path) => {
        const parsed = parsePathTemplate(path);
        if (parsed.ok) return;
        expect(parsed.reason.length).toBeGreaterThan(10);
        // Taken literally, as a routes.yaml path: either the router refuses it, or a request written the
        // way the document writes the path is refused, unmatched, or loses a parameter's value.
        let table: RouteTable;
        try {
          table = new RouteTable(
            [
              {
                id: 'r',
                method: 'GET',
                path,
                action: 'a',
                resource: { type: 'T', id: 'x' },
                risk: 'medium',
                allowWorkloads: false,
              },
            ],
            (t) => t,
          );
        } catch {
          return;
        }
        const names = [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
        let n = 0;
        const request = path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, () => `v${n++}`);
        const normalized = normalizePath(request);
        const match = normalized.ok ? table.match('GET', normalized.value.segments) : undefined;
        const servedAsMeant =
          match !== undefined &&
          names.every((name, i) => match.params[name] === `v${i}`) &&
          normalized.ok &&
          normalized.value.path === request;
        expect(servedAsMeant).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parsePathTemplate', () => {
  it('reads whole-segment parameters and decodes literals as requests are decoded', () => {
    const parsed = parsePathTemplate('/v1/caf%C3%A9/{petId}/');
    expect(parsed).toMatchObject({ ok: true, path: '/v1/café/{petId}/' });
  });

  it('renames parameters whose names are not identifiers, keeping them apart', () => {
    const parsed = parsePathTemplate('/a/{pet-id}/{pet_id}/{1st}');
    expect(parsed.ok && parsed.path).toBe('/a/{pet_id}/{pet_id_2}/{_1st}');
    expect(parsed.ok && [...parsed.renames]).toEqual([
      ['pet-id', 'pet_id'],
      ['pet_id', 'pet_id_2'],
      ['1st', '_1st'],
    ]);
  });

  it.each([
    ['/repos/{owner}/{repo}/compare/{base}...{head}', 'segment "{base}...{head}" mixes a parameter with other text'],
    ['/files/{name}.{ext}', 'mixes a parameter'],
    ['/files/{+path}', 'RFC 6570 expansion'],
    ['/a//b', 'empty segment'],
    ['/a/../b', 'dot segment'],
    ['/a/%2e%2e/b', 'dot segment'],
    ['/a%2Fb', 'encodes a slash'],
    ['/cookies#formExploded', 'query or fragment'],
    ['/search?q={q}', 'query or fragment'],
    ['/a/{id}/b/{id}', 'appears twice'],
    ['/a/%zz', 'invalid percent-encoding'],
    ['pets', 'does not begin with "/"'],
  ])('refuses %s (%s)', (path, reason) => {
    const parsed = parsePathTemplate(path);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });
});
