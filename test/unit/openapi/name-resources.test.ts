import { describe, expect, it } from 'vitest';

import { nameResources, pascal, singular } from '../../../src/openapi/name-resources.js';
import { parsePathTemplate } from '../../../src/openapi/parse-path-template.js';
import { routeIdFor, uniqueRouteId } from '../../../src/openapi/route-id.js';

const application = { type: 'Application', id: 'Bank' };
function named(paths: string[]): Record<string, string> {
  const inputs = paths.map((p) => {
    const parsed = parsePathTemplate(p);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { key: p, segments: parsed.segments };
  });
  const out = nameResources(inputs, application);
  return Object.fromEntries(paths.map((p) => [p, `${out.get(p)!.type}::"${out.get(p)!.id}"`]));
}

describe('nameResources', () => {
  it('names the resource the last parameter identifies, with every parameter in its id', () => {
    expect(
      named([
        '/accounts/{id}',
        '/accounts/{accountId}/statements',
        '/accounts/{accountId}/statements/{statementId}',
        '/repos/{owner}/{repo}',
      ]),
    ).toEqual({
      '/accounts/{id}': 'Account::"{id}"',
      '/accounts/{accountId}/statements': 'Account::"{accountId}"',
      '/accounts/{accountId}/statements/{statementId}': 'Statement::"{accountId}/{statementId}"',
      '/repos/{owner}/{repo}': 'Repo::"{owner}/{repo}"',
    });
  });

  it('gives paths without parameters (collections at the top, actions on the API) the Application', () => {
    expect(named(['/accounts', '/health', '/'])).toEqual({
      '/accounts': 'Application::"Bank"',
      '/health': 'Application::"Bank"',
      '/': 'Application::"Bank"',
    });
  });

  it("falls back to the parameter's name when no literal precedes it", () => {
    expect(named(['/{dataset}/{version}/fields', '/{tenantId}'])).toEqual({
      '/{dataset}/{version}/fields': 'Dataset::"{dataset}/{version}"',
      '/{tenantId}': 'Tenant::"{tenantId}"',
    });
  });

  it('tells apart kinds of resource that would share a name and an id shape', () => {
    expect(
      named([
        '/repos/{o}/{r}/comments/{id}',
        '/repos/{o}/{r}/issues/comments/{id}',
        '/repos/{o}/{r}/pulls/comments/{id}',
        '/gists/{g}/comments/{id}',
        '/user/{account_id}',
        '/users/{username}',
      ]),
    ).toEqual({
      '/repos/{o}/{r}/comments/{id}': 'RepoComment::"{o}/{r}/{id}"',
      '/repos/{o}/{r}/issues/comments/{id}': 'IssueComment::"{o}/{r}/{id}"',
      '/repos/{o}/{r}/pulls/comments/{id}': 'PullComment::"{o}/{r}/{id}"',
      // Two parameters, not three: its ids can never equal a repository comment's.
      '/gists/{g}/comments/{id}': 'Comment::"{g}/{id}"',
      '/user/{account_id}': 'User::"{account_id}"',
      '/users/{username}': 'User_2::"{username}"',
    });
  });

  it('keeps one name for one shape of path, whatever the methods or parameter names', () => {
    expect(named(['/pets/{id}', '/pets/{petId}/photos'])).toEqual({
      '/pets/{id}': 'Pet::"{id}"',
      '/pets/{petId}/photos': 'Pet::"{petId}"',
    });
  });

  it('avoids the names Cedar reserves', () => {
    expect(named(['/sets/{id}', '/actions/{id}'])).toEqual({
      '/sets/{id}': 'SetResource::"{id}"',
      '/actions/{id}': 'ActionResource::"{id}"',
    });
  });

  it.each([
    ['accounts', 'account'],
    ['categories', 'category'],
    ['addresses', 'address'],
    ['branches', 'branch'],
    ['caches', 'cache'],
    ['status', 'status'],
    ['people', 'person'],
    ['custom_pages', 'custom_page'],
    ['data', 'data'],
    ['keys', 'key'],
  ])('singular(%s) = %s', (plural, one) => expect(singular(plural)).toBe(one));

  it('makes Cedar type names of segments', () => {
    expect(['billing-plan', 'bookCollection', 'custom_pages', 'v2'].map(pascal)).toEqual([
      'BillingPlan',
      'BookCollection',
      'CustomPages',
      'V2',
    ]);
  });
});

describe('route ids', () => {
  it.each([
    ['getPetById', 'GET', '/pet/{petId}', 'get-pet-by-id'],
    ['repos/get-content', 'GET', '/repos/{owner}/{repo}/contents/{path}', 'repos.get-content'],
    ['getHTTPStatus', 'GET', '/status', 'get-http-status'],
    [undefined, 'GET', '/animal/search', 'get-animal-search'],
    [undefined, 'DELETE', '/pets/{pet-id}', 'delete-pets-pet-id'],
    [undefined, 'GET', '/', 'get-root'],
    ['__', 'POST', '/x', 'post-route'],
  ])('%s (%s %s) -> %s', (operationId, method, path, id) => expect(routeIdFor(operationId, method, path)).toBe(id));

  it('stays within 63 characters, keeping long ids apart', () => {
    const a = routeIdFor('a'.repeat(80), 'GET', '/');
    const b = routeIdFor(`${'a'.repeat(79)}b`, 'GET', '/');
    expect(a).toMatch(/^[a-z0-9][a-z0-9._-]{0,62}$/);
    expect(a).not.toBe(b);
  });

  it('numbers an id that is taken', () => {
    expect(uniqueRouteId('get-pet', new Set(['get-pet', 'get-pet-2']))).toBe('get-pet-3');
  });
});
