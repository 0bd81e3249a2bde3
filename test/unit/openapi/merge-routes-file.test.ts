import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import type { OpenApiOperation } from '../../../src/openapi/list-operations.js';
import { mapOperations } from '../../../src/openapi/map-operations.js';
import { mergeRoutesFile } from '../../../src/openapi/merge-routes-file.js';
import type { RouteSpec } from '../../../src/policy/routes-schema.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 150);
const creating = { namespace: 'Api', documentTitle: 'Generated' };
const application = { type: 'Application', id: 'Api' };

function operation(
  method: string,
  path: string,
  index: number,
  risk?: 'low' | 'medium' | 'high' | 'critical',
): OpenApiOperation {
  return {
    method,
    path,
    key: `${method} ${path}`,
    operationId: `op${index}`,
    extension: risk !== undefined ? { risk } : {},
    ownExtension: false,
    cedarResourceTypes: undefined,
    servers: undefined,
  };
}
const generate = (ops: readonly OpenApiOperation[]) => mapOperations(ops, { basePath: '', application }).routes;
const routes = (text: string) => (parseYaml(text) as { routes: RouteSpec[] }).routes;
const byId = (list: RouteSpec[]) => Object.fromEntries(list.map((r) => [r.id, r]));

// Operations of a made-up API: paths from a few segments, three methods, some with a risk of their own.
const universe = fc.uniqueArray(
  fc.record({
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    path: fc
      .array(fc.constantFrom('a', 'b', 'me', '{id}', '{x}'), { minLength: 1, maxLength: 3 })
      .map((s) => `/${s.join('/')}`),
    risk: fc.option(fc.constantFrom('low' as const, 'critical' as const), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 14, selector: (o) => `${o.method} ${o.path}` },
);
const versions = universe.chain((ops) =>
  fc.tuple(
    fc.constant(ops),
    fc.array(fc.boolean(), { minLength: ops.length, maxLength: ops.length }),
    fc.array(fc.boolean(), { minLength: ops.length, maxLength: ops.length }),
    fc.array(fc.boolean(), { minLength: ops.length, maxLength: ops.length }),
  ),
);

describe('mergeRoutesFile', () => {
  it('importing version A then version B gives what importing B alone gives (routes and state)', () => {
    fc.assert(
      fc.property(versions, ([ops, inA, inB, riskInB]) => {
        const all = ops.map((o, i) => operation(o.method, o.path, i, o.risk));
        const a = all.filter((_, i) => inA[i]);
        // B keeps some operations, drops others, adds new ones, and changes some risks.
        const b = all
          .filter((_, i) => inB[i])
          .map((o, i) => (riskInB[i] ? { ...o, extension: { risk: 'high' as const } } : o));
        if (generate(b).length === 0) return; // nothing to import: planImport refuses (no_operations)
        const fresh = mergeRoutesFile(undefined, generate(b), {}, creating);
        const first = mergeRoutesFile(undefined, generate(a), {}, creating);
        const incremental = mergeRoutesFile(first.text, generate(b), first.state, creating);
        expect(byId(routes(incremental.text))).toEqual(byId(routes(fresh.text)));
        expect(incremental.state).toEqual(fresh.state);
        // Nothing left to do afterwards.
        const again = mergeRoutesFile(incremental.text, generate(b), incremental.state, creating);
        expect(again.text).toBe(incremental.text);
        expect(again.diff).toMatchObject({ added: [], changed: [], removed: [], kept: [] });
      }),
      { numRuns: RUNS },
    );
  });

  it('an entry edited by hand survives any next version of the document, and the rest follows the document', () => {
    fc.assert(
      fc.property(versions, fc.nat(), ([ops, inA, inB], pick) => {
        const all = ops.map((o, i) => operation(o.method, o.path, i, o.risk));
        const a = all.filter((_, i) => inA[i]);
        const b = all.filter((_, i) => inB[i]);
        if (generate(a).length === 0 || generate(b).length === 0) return;
        const first = mergeRoutesFile(undefined, generate(a), {}, creating);
        const list = routes(first.text);
        if (list.length === 0) return;
        const victim = list[pick % list.length];
        const risk = victim.risk === 'critical' ? 'medium' : 'critical';
        const text = first.text
          .replace(`  - id: ${victim.id}\n`, `  - id: ${victim.id}\n    # edited by hand\n`)
          .replace(new RegExp(`(  - id: ${victim.id}\\n(?: {4}.*\\n)*? {4}risk: )\\w+`), `$1${risk}`);
        const next = mergeRoutesFile(text, generate(b), first.state, creating);
        const result = byId(routes(next.text));
        expect(result[victim.id]).toEqual({ ...victim, risk });
        expect(next.text).toContain(`  - id: ${victim.id}\n    # edited by hand\n`);
        const wanted = byId(routes(mergeRoutesFile(undefined, generate(b), {}, creating).text));
        for (const [id, route] of Object.entries(result)) if (id !== victim.id) expect(route).toEqual(wanted[id]);
        // Every operation of B has a route, unless the hand-edited entry serves it.
        for (const id of Object.keys(wanted))
          if (result[id] === undefined)
            expect(next.routedByHand.map((n) => n.reason)).toContain(`served by the hand-written route ${victim.id}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives an operation whose path changed its old id back', () => {
    const first = mergeRoutesFile(undefined, generate([operation('GET', '/pets/{id}', 1)]), {}, creating);
    const next = mergeRoutesFile(first.text, generate([operation('GET', '/pets/{petId}', 1)]), first.state, creating);
    expect(next.diff.removed.map((r) => r.path)).toEqual(['/pets/{id}']);
    expect(next.diff.added.map((r) => r.id)).toEqual(['op1']);
    expect(routes(next.text)).toEqual([
      expect.objectContaining({ id: 'op1', path: '/pets/{petId}', resource: { type: 'Pet', id: '{petId}' } }),
    ]);
  });

  it('keeps everything outside the entries it owns, byte for byte', () => {
    const text = [
      '# top comment',
      'namespace: Api   # trailing',
      'principal: { type: User }',
      'routes:',
      '  # a hand-written route',
      '  - id: hand',
      '    method: [GET, HEAD]',
      "    path: '/hand'",
      '    action: hand',
      "    resource: {type: Application, id: 'Api'}",
      '',
      'contextExtensions: [tier]',
      '',
    ].join('\n');
    const result = mergeRoutesFile(text, generate([operation('GET', '/pets/{id}', 1)]), {}, creating);
    expect(result.text).toBe(
      text.replace(
        "'Api'}\n",
        '\'Api\'}\n  - id: op1\n    method: GET\n    path: /pets/{id}\n    action: op1\n    resource: { type: Pet, id: "{id}" }\n    risk: low\n',
      ),
    );
  });
});
