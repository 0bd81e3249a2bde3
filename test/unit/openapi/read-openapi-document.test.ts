import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OpenApiImportError } from '../../../src/openapi/openapi-import-error.js';
import { readOpenApiDocument } from '../../../src/openapi/read-openapi-document.js';
import { ROOT } from '../../helpers/spawn-cli.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'openapi');
const EXAMPLES = path.join(ROOT, 'node_modules', '@readme', 'oas-examples');

async function failure(file: string): Promise<OpenApiImportError> {
  const err = await readOpenApiDocument(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenApiImportError);
  return err as OpenApiImportError;
}

describe('readOpenApiDocument', () => {
  it('reads YAML and JSON, 3.0 and 3.1, with local $refs resolved', async () => {
    const yaml = await readOpenApiDocument(path.join(EXAMPLES, '3.1', 'yaml', 'petstore.yaml'));
    const json = await readOpenApiDocument(path.join(EXAMPLES, '3.0', 'json', 'petstore.json'));
    expect([yaml.openapi, json.openapi]).toEqual(['3.1.0', '3.0.0']);
    expect(yaml.title).toBe('Swagger Petstore');
    const paths = (d: typeof yaml) =>
      d.document.paths as Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>
      >;
    // `requestBody: { $ref: '#/components/requestBodies/Pet' }` and the schema it names, resolved.
    expect(paths(yaml)['/pet'].put.requestBody!.content['application/json'].schema.properties).toHaveProperty(
      'photoUrls',
    );
  });

  it('resolves $refs into other local files (path items, parameters, recursive schemas)', async () => {
    const doc = await readOpenApiDocument(path.join(FIXTURES, 'split', 'openapi.yaml'));
    const paths = doc.document.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths)).toEqual(['/items', '/items/{itemId}']);
    expect(paths['/items/{itemId}']).toMatchObject({
      get: { operationId: 'getItem' },
      parameters: [{ name: 'itemId', in: 'path' }],
    });
  });

  describe('refusing remote $refs without touching the network', () => {
    let server: http.Server;
    let requests = 0;
    beforeAll(async () => {
      server = http.createServer((_req, res) => {
        requests++;
        res.end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('names every URL $ref, in the document and in the files it references, and fetches none', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'authzd-openapi-remote-'));
      const port = (server.address() as AddressInfo).port;
      writeFileSync(
        path.join(dir, 'api.yaml'),
        `openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    $ref: 'paths.yaml#/a'\n`,
      );
      writeFileSync(
        path.join(dir, 'paths.yaml'),
        `a:\n  get:\n    responses:\n      '200':\n        description: ok\n        content:\n          application/json:\n            schema: { $ref: 'http://127.0.0.1:${port}/pet.json' }\n`,
      );
      const err = await failure(path.join(dir, 'api.yaml'));
      expect(err.code).toBe('remote_reference');
      expect(err.message).toContain('the import never fetches anything');
      expect(err.details).toEqual([
        expect.stringMatching(new RegExp(`paths\\.yaml: \\$ref "http://127\\.0\\.0\\.1:${port}/pet\\.json"$`)),
      ]);

      const fixture = await failure(path.join(FIXTURES, 'remote-ref.yaml'));
      expect(fixture.code).toBe('remote_reference');
      expect(fixture.details.map((d) => d.replace(/^.*: \$ref /, ''))).toEqual([
        '"//specs.example.com/owners.yaml"',
        '"https://schemas.example.com/pet.json"',
      ]);
      expect(requests).toBe(0);
    });
  });

  it.each([
    [
      'swagger-2.yaml',
      'document_unsupported',
      'is a Swagger 2.0 document; authzd routes import reads OpenAPI 3.0 and 3.1',
    ],
    [
      'broken-syntax.yaml',
      'document_syntax',
      'broken-syntax.yaml:6:1: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    ['invalid.yaml', 'document_invalid', 'is not a valid OpenAPI 3.1.0 document'],
    ['duplicate-operation-id.yaml', 'document_invalid', 'is not a valid OpenAPI 3.1.0 document'],
    ['no-such-file.yaml', 'document_unreadable', 'cannot read'],
    ['versions/clinic-3.1-as-3.0.yaml', 'document_invalid', 'is not a valid OpenAPI 3.0.3 document'],
  ])('refuses %s (%s) with a message that says why', async (name, code, message) => {
    const err = await failure(path.join(FIXTURES, name));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect([err.message, ...err.details].join('\n')).not.toMatch(/\n\s+at /);
  });

  it('says what is wrong in an invalid document', async () => {
    expect((await failure(path.join(FIXTURES, 'invalid.yaml'))).details.join('\n')).toContain(
      "must have required property 'version'",
    );
    expect((await failure(path.join(FIXTURES, 'duplicate-operation-id.yaml'))).details.join('\n')).toMatch(
      /operationId.*same|same.*operationId/i,
    );
    expect((await failure(path.join(FIXTURES, 'versions/clinic-3.1-as-3.0.yaml'))).details.join('\n')).toContain(
      'type must be string',
    );
  });

  it('refuses other OpenAPI versions and documents that are not OpenAPI', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-openapi-versions-'));
    writeFileSync(path.join(dir, '3.2.yaml'), 'openapi: 3.2.0\ninfo: {title: t, version: "1"}\npaths: {}\n');
    writeFileSync(path.join(dir, 'list.json'), '[1, 2]');
    writeFileSync(path.join(dir, 'none.yaml'), 'info: {title: t}\n');
    expect((await failure(path.join(dir, '3.2.yaml'))).message).toContain(
      'is OpenAPI 3.2.0; authzd routes import reads OpenAPI 3.0.x and 3.1.x',
    );
    expect((await failure(path.join(dir, 'list.json'))).code).toBe('document_unsupported');
    expect((await failure(path.join(dir, 'none.yaml'))).message).toContain('no "openapi" version field');
  });

  it('reports rule breaks that do not affect routes as warnings', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-openapi-warnings-'));
    writeFileSync(
      path.join(dir, 'api.yaml'),
      "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get: {operationId: a, responses: {'200': {description: ok}}}\n",
    );
    const doc = await readOpenApiDocument(path.join(dir, 'api.yaml'));
    expect(doc.warnings).toEqual([expect.stringContaining('missing path parameter(s) for `{id}`')]);
  });
});
