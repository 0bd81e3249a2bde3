import { describe, expect, it } from 'vitest';

import { decodeModelParts, encodeModelParts, type ModelParts } from '../../../src/activation/compile-messages.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
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
});
