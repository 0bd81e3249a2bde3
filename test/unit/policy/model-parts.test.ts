import { describe, expect, it } from 'vitest';

import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { EntityStore } from '../../../src/policy/entity-store.js';
import {
  decodeEntities,
  decodeModelParts,
  encodeModelParts,
  exportModel,
  type ModelParts,
  restoreModel,
} from '../../../src/policy/model-parts.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

describe('model parts across threads', () => {
  it('survive the JSON round trip, Maps and Sets included', () => {
    const { entities, routes: _routes, ...rest } = compilePolicyModel(examplePolicyFiles());
    const parts: ModelParts = { ...rest, entityCount: entities.size };
    const back = decodeModelParts(encodeModelParts(parts));
    expect(back).toEqual(parts);
    expect(back.policyInfo).toBeInstanceOf(Map);
    expect(back.actionAncestors.get('Bank::Action::"readAccount"')).toEqual(new Set(['Bank::Action::"read"']));
    expect(back.entityReach.attributes).toBeInstanceOf(Set);
    expect(back.entityReach).toEqual(parts.entityReach);
    expect(back.slicePlan.size).toBe(parts.slicePlan.size);
  });

  it('export in chunks and restore to a model that routes and stores the same', () => {
    const model = compilePolicyModel(examplePolicyFiles());
    let parts: ModelParts | undefined;
    const restoring = EntityStore.restoring();
    let chunks = 0;
    for (const piece of exportModel(model, 2)) {
      if ('parts' in piece) parts = decodeModelParts(piece.parts);
      else {
        chunks++;
        restoring.add(decodeEntities(piece.entities));
      }
    }
    expect(chunks).toBe(Math.ceil(model.entities.size / 2));
    const back = restoreModel(parts!, restoring.done());
    expect(back.entities.size).toBe(model.entities.size);
    expect([...back.entities.entities()]).toEqual([...model.entities.entities()]);
    expect(back.routes.routes.length).toBe(model.routes.routes.length);
    expect(back.policies).toEqual(model.policies);
    expect('entityCount' in back).toBe(false);
  });
});
