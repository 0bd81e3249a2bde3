import { describe, expect, it } from 'vitest';

import { cedar } from '../../../../src/cedar/cedar.js';
import { schemaTextToJson } from '../../../../src/engine/native/cedar-wasm-adapter.js';
import { NativeEngine } from '../../../../src/engine/native/native-engine.js';

const SCHEMA = `
  namespace App {
    type Net = { ip: ipaddr, port?: Long };
    entity Group; entity User in [Group] = { name: String }; entity Doc; entity Color enum ["red", "green"];
    action read appliesTo { principal: User, resource: [Doc, Color], context: { net: Net, tags: Set<String>, owner?: User, color?: Color } };
    action admin;
  }
`;

const base = {
  principal: { type: 'App::User', id: 'u' },
  action: { type: 'App::Action', id: 'read' },
  resource: { type: 'App::Doc', id: 'd' },
  context: { net: { ip: '10.0.0.1' }, tags: [] } as Record<string, unknown>,
};

const cases: [string, typeof base][] = [
  ['a conforming request (ipaddr given as a string)', base],
  ['an optional context attribute', { ...base, context: { ...base.context, owner: { type: 'App::User', id: 'x' } } }],
  ['an undeclared action', { ...base, action: { type: 'App::Action', id: 'nope' } }],
  ['an action that applies to nothing', { ...base, action: { type: 'App::Action', id: 'admin' } }],
  ['a principal type the action does not apply to', { ...base, principal: { type: 'App::Doc', id: 'u' } }],
  ['an undeclared principal type', { ...base, principal: { type: 'App::Nope', id: 'u' } }],
  ['a resource of an enumerated type with a valid id', { ...base, resource: { type: 'App::Color', id: 'red' } }],
  ['a resource of an enumerated type with an invalid id', { ...base, resource: { type: 'App::Color', id: 'blue' } }],
  [
    'a context entity of an enumerated type with an invalid id',
    { ...base, context: { ...base.context, color: { type: 'App::Color', id: 'blue' } } },
  ],
  ['a missing required context attribute', { ...base, context: { tags: [] } }],
  ['an extra context attribute', { ...base, context: { ...base.context, extra: 1 } }],
  ['a context attribute of the wrong type', { ...base, context: { ...base.context, tags: ['a', 1] } }],
  [
    'a context entity of the wrong type',
    { ...base, context: { ...base.context, owner: { type: 'App::Doc', id: 'x' } } },
  ],
  ['an invalid ip in the context', { ...base, context: { net: { ip: '10.0.0.300' }, tags: [] } }],
  ['a nested record of the wrong shape', { ...base, context: { net: { ip: '10.0.0.1', port: 'x' }, tags: [] } }],
];

describe('validateRequest', () => {
  const schema = schemaTextToJson(SCHEMA);
  const engine = new NativeEngine({ policies: { p: 'permit(principal, action, resource);' }, schema });
  for (const [name, req] of cases) {
    it(`${name}: valid exactly when cedar-wasm's validateRequest accepts it`, () => {
      const wasm = cedar.isAuthorized({
        ...req,
        context: req.context as never,
        policies: { staticPolicies: { p: 'permit(principal, action, resource);' } },
        entities: [],
        schema: schema as never,
        validateRequest: true,
      });
      expect(engine.validateRequest(req).valid).toBe(wasm.type === 'success');
      // isAuthorized with validation agrees with validateRequest.
      expect(engine.isAuthorized(req).type === 'decision').toBe(wasm.type === 'success');
    });
  }

  it('without validation still parses the context against the action (so an undeclared action fails), as cedar-wasm', () => {
    for (const [, req] of cases) {
      const wasm = cedar.isAuthorized({
        ...req,
        context: req.context as never,
        policies: { staticPolicies: { p: 'permit(principal, action, resource);' } },
        entities: [],
        schema: schema as never,
        validateRequest: false,
      });
      expect(engine.isAuthorized(req, { validateRequest: false }).type === 'decision', JSON.stringify(req)).toBe(
        wasm.type === 'success',
      );
    }
  });

  it('is always valid without a schema, but entity types must still be valid names', () => {
    const plain = new NativeEngine({ policies: {} });
    expect(plain.validateRequest(base).valid).toBe(true);
    expect(plain.validateRequest({ ...base, principal: { type: 'not a name', id: 'u' } }).valid).toBe(false);
  });
});
