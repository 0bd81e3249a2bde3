import { describe, expect, it } from 'vitest';

import { NativeCompileError, NativeEngine } from '../../../../src/engine/native/native-engine.js';

const req = {
  principal: { type: 'U', id: 'u' },
  action: { type: 'Action', id: 'a' },
  resource: { type: 'R', id: 'r' },
  context: {},
};

describe('NativeEngine', () => {
  it('answers in Cedar terms: forbid overrides permit, reasons are the determining policies, errors are skipped policies', () => {
    const engine = new NativeEngine({
      policies: {
        allow1: 'permit(principal, action, resource);',
        allow2: 'permit(principal == U::"u", action, resource);',
        broken: 'forbid(principal, action, resource) when { principal.nope };',
        deny: 'forbid(principal, action, resource) when { context has x };',
      },
    });
    expect(engine.isAuthorized(req)).toEqual({
      type: 'decision',
      decision: 'allow',
      reason: ['allow1', 'allow2'],
      errors: [{ policyId: 'broken', message: 'entity `U::"u"` does not exist' }],
    });
    const denied = engine.isAuthorized({ ...req, context: { x: 1 } });
    expect(denied).toMatchObject({ type: 'decision', decision: 'deny', reason: ['deny'] });
    expect(engine.isAuthorized({ ...req, principal: { type: 'U', id: 'v' }, context: {} })).toMatchObject({
      decision: 'allow',
      reason: ['allow1'],
    });
  });

  it('denies with no reason when nothing applies', () => {
    const engine = new NativeEngine({ policies: { p: 'permit(principal is X, action, resource);' } });
    expect(engine.isAuthorized(req)).toEqual({ type: 'decision', decision: 'deny', reason: [], errors: [] });
  });

  it('lists every problem of a policy set at once, and refuses templates and unknown()', () => {
    try {
      new NativeEngine({
        policies: {
          syntax: 'permit(principal, action, resource',
          template: 'permit(principal == ?principal, action, resource);',
          partial: 'permit(principal, action, resource) when { unknown("x") };',
          fine: 'permit(principal, action, resource);',
        },
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NativeCompileError);
      const problems = (e as NativeCompileError).problems.join('\n');
      expect(problems).toMatch(/"syntax"/);
      expect(problems).toMatch(/"template": templates/);
      expect(problems).toMatch(/"partial": .*unknown/);
      expect(problems).not.toMatch(/"fine"/);
    }
    expect(
      () =>
        new NativeEngine({ policies: {}, entities: '[{"uid": {"type": "A", "id": "a"}, "attrs": {}, "parents": [}' }),
    ).toThrow(/entities:/);
    expect(
      () => new NativeEngine({ policies: {}, schema: { N: { entityTypes: { A: { shape: { type: 'Nope' } } } } } }),
    ).toThrow(/schema:/);
  });

  it('compiles in steps to the same engine', () => {
    const entities = Array.from({ length: 10_000 }, (_, i) => ({
      uid: { type: 'R', id: String(i) },
      attrs: { n: i },
      parents: i >= 10 ? [{ type: 'R', id: String(i % 10) }] : i > 0 ? [{ type: 'R', id: '0' }] : [],
    }));
    const input = {
      policies: { p: 'permit(principal, action, resource in R::"0") when { resource.n > 5 };' },
      entities,
    };
    const steps = NativeEngine.compileSteps(input);
    let yields = 0;
    let r = steps.next();
    while (!r.done) {
      yields++;
      r = steps.next();
    }
    const stepped = r.value;
    const whole = new NativeEngine(input);
    for (const id of ['1', '6', '299', '9999']) {
      const q = { ...req, resource: { type: 'R', id } };
      expect(stepped.isAuthorized(q)).toEqual(whole.isAuthorized(q));
    }
    expect(stepped.isAuthorized({ ...req, resource: { type: 'R', id: '6' } })).toMatchObject({ decision: 'allow' });
    expect(yields).toBeGreaterThan(0);
  });

  it('answers invalid, never throws, for malformed requests', () => {
    const engine = new NativeEngine({ policies: { p: 'permit(principal, action, resource);' } });
    for (const bad of [
      { ...req, principal: null },
      { ...req, principal: { type: 'U' } },
      { ...req, resource: { type: '', id: 'x' } },
      { ...req, context: [] },
      { ...req, context: { a: null } },
      { ...req, context: { a: 1.5 } },
      { ...req, context: { a: { __extn: { fn: 'ip', arg: 'nope' } } } },
      { ...req, context: { a: { __extn: { fn: 'nope', arg: 'x' } } } },
    ]) {
      expect(engine.isAuthorized(bad as never).type, JSON.stringify(bad)).toBe('invalid');
    }
    expect(
      engine.isAuthorized(req, { overlay: [{ uid: { type: 'U', id: 'u' }, attrs: { a: 1.5 }, parents: [] }] }).type,
    ).toBe('invalid');
  });
});
