import { cedar, type EntityJson } from '../../src/cedar/cedar.js';
import type { CedarCall } from '../../src/contract/cedar-call.js';
import type { EngineAnswer } from '../../src/engine/decision-engine.js';
import type { PolicyModel } from '../../src/policy/compile-policy-model.js';
import { entityKey } from '../../src/policy/entity-store.js';

/** Cedar over the whole store: the oracle. The principal as authzd built it replaces the stored one. */
export function wholeStoreAnswer(model: PolicyModel, input: CedarCall, entities?: EntityJson[]): EngineAnswer {
  const principalKey = entityKey(input.principal);
  const all = entities ?? [
    ...(input.principalEntity !== undefined ? [input.principalEntity as EntityJson] : []),
    ...[...model.entities.entities()]
      .filter((e) => input.principalEntity === undefined || entityKey(e.uid) !== principalKey)
      .map((e) => e as EntityJson),
  ];
  const answer = cedar.isAuthorized({
    principal: input.principal,
    action: input.action,
    resource: input.resource,
    context: input.context,
    policies: { staticPolicies: model.policies },
    entities: all,
    ...(model.schema !== undefined ? { schema: model.schema, validateRequest: true } : {}),
  });
  if (answer.type === 'failure') return { kind: 'invalid', messages: answer.errors.map((e) => e.message) };
  return {
    kind: 'decision',
    allow: answer.response.decision === 'allow',
    determining: answer.response.diagnostics.reason,
    errored: answer.response.diagnostics.errors.map((e) => ({ policyId: e.policyId, message: e.error.message })),
  };
}
