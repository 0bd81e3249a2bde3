import { describe, expect, it } from 'vitest';

import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

const call = (principalId: string) => ({
  principal: { type: 'Bank::User', id: principalId },
  action: { type: 'Bank::Action', id: 'readAccount' },
  resource: { type: 'Bank::Account', id: 'acc-1001' },
  context: {},
  principalEntity: undefined,
  entities: [],
});

describe('PolicyStore', () => {
  it('swaps whole sets; a request keeps the set it started with until it releases it', () => {
    const engine = new CedarWasmEngine({ validateRequests: false });
    const store = new PolicyStore(engine);
    expect(store.acquire()).toBeUndefined();

    const v1 = compilePolicyModel(
      examplePolicyFiles({
        'schema.cedarschema': null,
        'open.cedar': '@id("v1-open") permit(principal, action, resource);',
      }),
    );
    store.activate(v1);
    const held = store.acquire()!;
    expect(held.model.version).toBe(v1.version);

    const v2 = compilePolicyModel(examplePolicyFiles({ 'schema.cedarschema': null }));
    store.activate(v2);
    expect(store.version).toBe(v2.version);
    // The in-flight request still evaluates against v1 (its permit-all applies).
    const answer = engine.authorize(held, call('anyone'));
    expect(answer).toMatchObject({ kind: 'decision', allow: true, determining: ['v1-open'] });
    store.release(held);
    // Released and retired: its preparsed policies are gone.
    expect(engine.authorize(held, call('anyone'))).toMatchObject({ kind: 'decision', allow: false, determining: [] });

    const current = store.acquire()!;
    expect(engine.authorize(current, call('anyone'))).toMatchObject({ kind: 'decision', allow: false });
    store.release(current);
  });

  it('reuses retired engine slots, so activations do not grow the engine without bound', () => {
    const engine = new CedarWasmEngine({ validateRequests: false });
    const store = new PolicyStore(engine);
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      store.activate(compilePolicyModel(examplePolicyFiles(), `v${i}`));
      const set = store.acquire()!;
      ids.add(set.setId);
      store.release(set);
    }
    expect(ids.size).toBeLessThanOrEqual(2);
  });
});
