import { describe, expect, it } from 'vitest';

import { parseAuthorizeRequest } from '../../../src/decide/authorize-codec.js';

const valid = () => ({
  principal: {
    uid: { type: 'Bank::User', id: 'alice' },
    attrs: { tenant: 'acme', level: 3, tags: ['a'], owner: { __entity: { type: 'Bank::User', id: 'bob' } } },
    parents: [{ type: 'Bank::Role', id: 'teller' }],
  },
  action: { type: 'Bank::Action', id: 'readAccount' },
  resource: { type: 'Bank::Account', id: 'acc-1001' },
  context: { request: { method: 'GET', sourceIp: { __extn: { fn: 'ip', arg: '10.0.0.1' } } } },
});

describe('parseAuthorizeRequest', () => {
  it('accepts a full request and defaults the optional parts', () => {
    expect(parseAuthorizeRequest(valid())).toEqual({ ok: true, value: valid() });
    const minimal = {
      principal: { uid: { type: 'User', id: '' } },
      action: { type: 'Action', id: 'a' },
      resource: { type: 'R', id: 'r' },
    };
    expect(parseAuthorizeRequest(minimal)).toEqual({
      ok: true,
      value: { ...minimal, principal: { uid: { type: 'User', id: '' }, attrs: {}, parents: [] }, context: {} },
    });
  });

  const change = (edit: (body: ReturnType<typeof valid>) => void) => {
    const body = valid();
    edit(body);
    return body;
  };

  it.each([
    ['not an object', 'null', null, 'body: expected an object'],
    [
      'unknown top-level field',
      'entities',
      change((b) => Object.assign(b, { entities: [] })),
      'body.entities: unknown field (expected principal, action, resource, context)',
    ],
    [
      'missing principal',
      'principal',
      change((b) => delete (b as Partial<typeof b>).principal),
      'principal: expected an object',
    ],
    [
      'bad type name',
      'type',
      change((b) => (b.action.type = 'Bank Action')),
      'action.type: expected a Cedar entity type name like "Namespace::Type"',
    ],
    ['numeric id', 'id', change((b) => ((b.resource as { id: unknown }).id = 7)), 'resource.id: expected a string'],
    [
      'parents not a list',
      'parents',
      change((b) => ((b.principal as { parents: unknown }).parents = {})),
      'principal.parents: expected an array of {"type","id"}',
    ],
    [
      'bad parent',
      'parent',
      change((b) => ((b.principal.parents[0] as { id: unknown }).id = null)),
      'principal.parents[0].id: expected a string',
    ],
    [
      'float',
      'float',
      change((b) => ((b.context.request as Record<string, unknown>).ratio = 0.5)),
      'context.request.ratio: Cedar numbers are integers within ±2^53',
    ],
    [
      'huge integer',
      'big',
      change((b) => ((b.principal.attrs as Record<string, unknown>).n = 2 ** 60)),
      'principal.attrs.n: Cedar numbers are integers within ±2^53',
    ],
    [
      'null',
      'null',
      change((b) => ((b.context as Record<string, unknown>).x = [1, null])),
      'context.x[1]: null is not a Cedar value',
    ],
    [
      '__proto__',
      'proto',
      JSON.parse(
        '{"principal":{"uid":{"type":"U","id":"u"},"attrs":{"__proto__":{"admin":true}}},"action":{"type":"A","id":"a"},"resource":{"type":"R","id":"r"}}',
      ),
      'principal.attrs: the key "__proto__" is not allowed',
    ],
  ])('refuses %s', (_name, _tag, body, detail) => {
    expect(parseAuthorizeRequest(body)).toEqual({ ok: false, detail });
  });

  it('bounds nesting and size', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(parseAuthorizeRequest(change((b) => ((b.context as Record<string, unknown>).deep = deep)))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('nested deeper than 32 levels'),
    });
    const wide = Array.from({ length: 10_001 }, () => 1);
    expect(parseAuthorizeRequest(change((b) => ((b.context as Record<string, unknown>).wide = wide)))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('more than 10000 values'),
    });
  });
});
