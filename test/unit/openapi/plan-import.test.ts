// The import end to end, in process: real public descriptions of different styles and hand-written ones,
// into new directories and into a copy of the example policy set.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { OpenApiImportError } from '../../../src/openapi/openapi-import-error.js';
import { planImport } from '../../../src/openapi/plan-import.js';
import {
  compileDir,
  importInto,
  OAS_EXAMPLES,
  OPENAPI_FIXTURES,
  policyDir,
  read,
  routesOf,
} from '../../helpers/openapi-import.js';

const example = (...parts: string[]) => path.join(OAS_EXAMPLES, ...parts);
const fixture = (name: string) => path.join(OPENAPI_FIXTURES, name);

describe('importing real descriptions into a new policy directory', () => {
  it.each([
    // [file, namespace, routes expected, a route that must be there]
    [
      example('3.0', 'yaml', 'petstore.yaml'),
      'Petstore',
      20,
      {
        id: 'get-pet-by-id',
        method: 'GET',
        path: '/v2/pet/{petId}',
        action: 'getPetById',
        resource: { type: 'Pet', id: '{petId}' },
        risk: 'low',
      },
    ],
    [
      example('3.1', 'yaml', 'petstore.yaml'),
      undefined,
      20,
      {
        id: 'delete-order',
        method: 'DELETE',
        path: '/v2/store/order/{orderId}',
        action: 'deleteOrder',
        resource: { type: 'Order', id: '{orderId}' },
        risk: 'high',
      },
    ],
    [
      example('3.1', 'yaml', 'train-travel.yaml'),
      'Train',
      7,
      {
        id: 'create-booking-payment',
        method: 'POST',
        path: '/bookings/{bookingId}/payment',
        action: 'create-booking-payment',
        resource: { type: 'Booking', id: '{bookingId}' },
      },
    ],
    // No operationIds at all: actions are named "<method> <path>", as Cedar's SimpleRest generator names them.
    [
      example('3.0', 'yaml', 'star-trek.yaml'),
      'Stapi',
      120,
      {
        id: 'get-animal-search',
        method: 'GET',
        path: '/api/v1/rest/animal/search',
        action: 'get /animal/search',
        resource: { type: 'Application', id: 'Stapi' },
      },
    ],
    [
      example('3.1', 'yaml', 'readme.yaml'),
      'ReadMe',
      54,
      {
        method: 'GET',
        path: '/v2/branches/{branch}/categories/{section}/{title}',
        resource: { type: 'Category', id: '{branch}/{section}/{title}' },
      },
    ],
    // Server variables at their defaults, a path that is "/", parameters before any literal.
    [
      example('3.0', 'yaml', 'uspto.yaml'),
      'Uspto',
      3,
      { method: 'GET', path: '/ds-api/', resource: { type: 'Application', id: 'Uspto' } },
    ],
    [
      example('3.0', 'json', 'petstore-expanded.json'),
      'Pets',
      4,
      { id: 'find-pet-by-id', method: 'GET', path: '/api/pets/{id}', resource: { type: 'Pet', id: '{id}' } },
    ],
  ] as const)('%s', async (file, namespace, count, expected) => {
    const dir = policyDir();
    const plan = await importInto(file, dir, namespace !== undefined ? { namespace } : {});
    expect(plan.report.refused).toEqual([]);
    expect(plan.report.created).toEqual(['routes.yaml', 'schema.cedarschema', 'policies.cedar']);
    const model = await compileDir(dir);
    expect(model.routeSpecs).toHaveLength(count);
    expect(model.routeSpecs).toContainEqual(expect.objectContaining(expected));
    // Every generated action is in the schema, in the read or write group by method.
    for (const route of model.routeSpecs) {
      const action = `${model.mapping.actionType}::${JSON.stringify(route.action)}`;
      const group = ['GET', 'HEAD'].includes(route.method as string) ? 'read' : 'write';
      expect([...model.actionAncestors.get(action)!]).toEqual([
        `${model.mapping.actionType}::${JSON.stringify(group)}`,
      ]);
    }
    // A second import of the same document changes nothing.
    const again = await planImport({ documentFile: file, policyDir: dir, basePath: undefined, namespace: undefined });
    expect(again.writes.size).toBe(0);
    expect(again.report.routes).toMatchObject({ added: [], changed: [], removed: [], kept: [], unchanged: count });
  });

  it('maps the same API written in OpenAPI 3.0 and in 3.1 to the same routes and schema', async () => {
    const a = policyDir();
    const b = policyDir();
    await importInto(fixture('versions/clinic-3.0.yaml'), a, { namespace: 'Clinic' });
    const plan = await importInto(fixture('versions/clinic-3.1.yaml'), b, { namespace: 'Clinic' });
    expect(read(b, 'routes.yaml')).toBe(read(a, 'routes.yaml'));
    expect(read(b, 'schema.cedarschema')).toBe(read(a, 'schema.cedarschema'));
    // 3.1's reusable path item came through its $ref; its webhook is a request the API sends, not a route.
    expect(routesOf(b).map((r) => `${r.method} ${r.path} ${r.action}`)).toEqual([
      'GET /v1/visits listVisits',
      'GET /v1/visits/{visitId} getVisit',
    ]);
    expect(plan.report.skipped).toEqual([]);
  });

  it('imports a description split over several files', async () => {
    const dir = policyDir();
    await importInto(fixture('split/openapi.yaml'), dir);
    expect(routesOf(dir).map((r) => `${r.method} ${r.path} ${r.resource.type}::${r.resource.id}`)).toEqual([
      'GET /inventory/v1/items Application::api',
      'POST /inventory/v1/items Application::api',
      'GET /inventory/v1/items/{itemId} Item::{itemId}',
      'DELETE /inventory/v1/items/{itemId} Item::{itemId}',
    ]);
    await compileDir(dir);
  });

  it('fails with a clear error on a document without operations', async () => {
    const err = await planImport({
      documentFile: example('3.1', 'yaml', 'webhooks.yaml'),
      policyDir: policyDir(),
      basePath: undefined,
      namespace: undefined,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenApiImportError);
    expect((err as OpenApiImportError).code).toBe('no_operations');
  });
});

describe('x-authzd and x-cedar', () => {
  it('override action, resource, risk, route id and workloads, skip operations, and import OPTIONS on request', async () => {
    const dir = policyDir();
    const plan = await importInto(fixture('extensions.yaml'), dir, { namespace: 'Clinic' });
    const routes = Object.fromEntries(routesOf(dir).map((r) => [r.id, r]));
    expect(routes['get-pet']).toMatchObject({
      path: '/api/pets/{pet_id}',
      action: 'getPet',
      resource: { type: 'Pet', id: '{pet_id}' },
      risk: 'medium',
    });
    expect(routes['pet-update']).toMatchObject({ method: 'PUT', action: 'writePet', risk: 'high' });
    expect(routes['get-pet-owner']).toMatchObject({
      resource: { type: 'Owner', id: '{pet_id}' },
      allowWorkloads: true,
      risk: 'low',
    });
    expect(routes['get-vet']).toMatchObject({ resource: { type: 'Vet', id: '{vetId}' } });
    // x-cedar's single appliesToResourceTypes entry is the type; x-authzd gives the literal id.
    expect(routes['daily-report']).toMatchObject({ action: 'dailyReport', resource: { type: 'Report', id: 'daily' } });
    expect(routes['daily-report-head']).toMatchObject({
      method: 'HEAD',
      action: 'dailyReport',
      resource: { type: 'Report', id: 'daily' },
    });
    expect(routes['cors-preflight']).toMatchObject({ method: 'OPTIONS', risk: 'low' });
    expect(routes['multi-typed']).toMatchObject({ resource: { type: 'Application' } });
    expect(Object.keys(routes)).not.toContain('internal-metrics');
    expect(plan.report.skipped).toEqual([
      {
        method: 'OPTIONS',
        path: '/pets/{pet-id}',
        reason: 'OPTIONS operations are imported only with x-authzd: { skip: false }',
      },
      { method: 'GET', path: '/internal/metrics', reason: 'x-authzd skip' },
    ]);
    expect(plan.report.warnings).toContainEqual(
      expect.stringContaining('x-cedar of GET /multi lists 2 resource types'),
    );
    const schema = read(dir, 'schema.cedarschema');
    // One action for two operations: both methods' groups, no per-operation annotation.
    expect(schema).toContain(
      '  action "dailyReport" in [read] appliesTo { principal: User, resource: Report, context: HttpContext };',
    );
    expect(schema).toContain(
      'action "getPetOwner" in [read] appliesTo { principal: [User, Workload], resource: Owner, context: HttpContext };',
    );
    expect(schema).toContain('  entity Workload;');
    await compileDir(dir);
  });

  it('refuses malformed extensions and values routes.yaml would refuse, naming where they are', async () => {
    const dir = policyDir();
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const tmp = mkdtempSync(path.join(dir, '..', 'doc-'));
    const doc = path.join(tmp, 'api.yaml');
    writeFileSync(
      doc,
      [
        'openapi: 3.1.0',
        "info: {title: t, version: '1'}",
        'paths:',
        '  /a/{id}:',
        '    x-authzd: {risk: extreme}',
        "    get: {operationId: a, x-authzd: {resource: {id: '{nope}'}}, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}",
        "    put: {operationId: b, x-authzd: {id: Not_An_Id, colour: red}, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {'200': {description: ok}}}",
        '',
      ].join('\n'),
    );
    const err = (await planImport({
      documentFile: doc,
      policyDir: dir,
      basePath: undefined,
      namespace: undefined,
    }).catch((e: unknown) => e)) as OpenApiImportError;
    expect(err.code).toBe('extension_invalid');
    expect(err.details).toEqual([
      expect.stringMatching(/^paths\["\/a\/\{id\}"\]\.x-authzd\.risk: Invalid option/),
      expect.stringMatching(/^paths\["\/a\/\{id\}"\]\.put\.x-authzd: Unrecognized key: "colour"/),
    ]);
    writeFileSync(doc, read(tmp, 'api.yaml').replace('{risk: extreme}', '{risk: high}').replace(', colour: red', ''));
    const second = (await planImport({
      documentFile: doc,
      policyDir: dir,
      basePath: undefined,
      namespace: undefined,
    }).catch((e: unknown) => e)) as OpenApiImportError;
    expect(second.details).toEqual([
      'x-authzd of GET /a/{id}: resource.id uses {nope}, which is not a parameter of the path',
      'x-authzd of PUT /a/{id}: id: route ids are lower-case [a-z0-9._-], up to 63 characters (they are metric labels)',
    ]);
  });
});

describe('paths the router cannot serve', () => {
  it('are refused by name with the reason; the rest imports', async () => {
    const dir = policyDir();
    const plan = await planImport({
      documentFile: fixture('unsupported-paths.yaml'),
      policyDir: dir,
      basePath: undefined,
      namespace: undefined,
    });
    expect(plan.report.refused).toEqual([
      {
        method: 'GET',
        path: '/files/{name}.{ext}',
        reason: 'segment "{name}.{ext}" mixes a parameter with other text; authzd\'s parameters fill a whole segment',
      },
      {
        method: 'GET',
        path: '/search#advanced',
        reason: 'the path has a query or fragment; authzd matches the path without them',
      },
      {
        method: 'GET',
        path: '/pets/{petId}',
        reason: 'GET /pets/{id} has the same method and path shape, so it would receive every request for this one',
      },
    ]);
    expect([...plan.writes.keys()]).toContain('routes.yaml');
    expect(plan.writes.get('routes.yaml')).toContain('path: /pets/{id}');
  });

  it('--base-path chooses among servers that disagree', async () => {
    const file = example('3.0', 'yaml', 'server-variables.yaml');
    const err = (await planImport({
      documentFile: file,
      policyDir: policyDir(),
      basePath: undefined,
      namespace: undefined,
    }).catch((e: unknown) => e)) as OpenApiImportError;
    expect(err.code).toBe('no_operations');
    expect(err.details[0]).toBe(
      'POST /global: its servers have different base paths (/v2, /v1); choose one with --base-path',
    );
    const plan = await planImport({
      documentFile: file,
      policyDir: policyDir(),
      basePath: '/v1',
      namespace: undefined,
    });
    expect(plan.report.routes.added.map((r) => r.path)).toEqual([
      '/v1/global',
      '/v1/operation',
      '/v1/path',
      '/v1/combo',
    ]);
  });
});
