import type { CedarCall } from '../../contract/cedar-call.js';
import type { PolicyModel } from '../../policy/compile-policy-model.js';
import type { DecisionEngine, EngineAnswer, PreparedSet } from '../decision-engine.js';
import { runSteps, runStepsAsync } from '../run-steps.js';
import type { Explanation } from './explain.js';
import { type NativeCallOptions, NativeEngine, type NativeRequest } from './native-engine.js';

/** A policy model compiled by the native evaluator. */
export interface NativePreparedSet extends PreparedSet {
  readonly native: NativeEngine;
}

/** Entities per step while the store is read into the evaluator: a few milliseconds of the serving thread. */
const ENTITY_STEP = 2_000;

/**
 * authzd's DecisionEngine over the native evaluator (native-engine.ts): the policy set compiled once per
 * activation from each policy's text (parsed natively, so 64-bit literals stay exact), evaluated against
 * the whole entity store with no slice, so what Cedar would see and what is evaluated cannot differ.
 * cedar-wasm still validates every set before it gets here (compilePolicyModel) and re-checks a sample
 * of live decisions when engine.verifySample is set (shadow-verified-engine.ts).
 */
export class NativeDecisionEngine implements DecisionEngine<NativePreparedSet> {
  readonly name = 'native';
  readonly #validateRequests: boolean;

  constructor(options: { readonly validateRequests: boolean }) {
    this.#validateRequests = options.validateRequests;
  }

  prepare(model: PolicyModel): NativePreparedSet {
    return runSteps(this.#prepareSteps(model));
  }

  prepareAsync(model: PolicyModel): Promise<NativePreparedSet> {
    return runStepsAsync(this.#prepareSteps(model));
  }

  *#prepareSteps(model: PolicyModel): Generator<void, NativePreparedSet> {
    // The model's store keeps entities as JSON text (entity-store.ts); compilePolicyModel refuses integers
    // JSON cannot hold exactly, so parsing them here loses nothing.
    const entities: unknown[] = [];
    for (const entity of model.entities.entities()) {
      entities.push(toCedarEntity(entity));
      if (entities.length % ENTITY_STEP === 0) yield;
    }
    const native = yield* NativeEngine.compileSteps({
      policies: model.policies,
      schema: model.schemaJson,
      entities,
    });
    const set: NativePreparedSet = { model, native };
    this.#warm(set);
    return set;
  }

  authorize(set: NativePreparedSet, call: CedarCall): EngineAnswer {
    const answer = set.native.isAuthorized(toRequest(call), this.#options(call));
    if (answer.type === 'invalid') return { kind: 'invalid', messages: answer.errors };
    return {
      kind: 'decision',
      allow: answer.decision === 'allow',
      determining: answer.reason,
      errored: answer.errors,
    };
  }

  /** Per policy: scope, condition values or the error and the sub-expression that raised it. Never on the hot path. */
  explain(
    set: NativePreparedSet,
    call: CedarCall,
  ): Explanation | { readonly type: 'invalid'; readonly errors: readonly string[] } {
    return set.native.explain(toRequest(call), this.#options(call));
  }

  retire(_set: NativePreparedSet): void {
    // Nothing outside the JavaScript heap: the set is collected once no request holds it.
  }

  #options(call: CedarCall): NativeCallOptions {
    const p = call.principalEntity;
    return {
      validateRequest: this.#validateRequests,
      ...(p !== undefined ? { overlay: [toCedarEntity(p)] } : {}),
    };
  }

  // A fresh set's first evaluations run in V8's interpreter; a few rounds over the routes before it serves.
  #warm(set: NativePreparedSet): void {
    const { routes, mapping } = set.model;
    for (let round = 0; round < 3; round++) {
      for (const route of routes.routes.slice(0, 32)) {
        this.authorize(set, {
          principal: { type: mapping.principal.qualifiedType, id: 'authzd-warmup' },
          action: { type: mapping.actionType, id: route.action },
          resource: { type: route.resourceType, id: 'authzd-warmup' },
          context: {},
          principalEntity: undefined,
        });
      }
    }
  }
}

const toRequest = (call: CedarCall): NativeRequest => ({
  principal: call.principal,
  action: call.action,
  resource: call.resource,
  context: call.context,
});

function toCedarEntity(entity: {
  readonly uid: unknown;
  readonly attrs: unknown;
  readonly parents: readonly unknown[];
  readonly tags?: unknown;
}): unknown {
  return entity.tags === undefined
    ? { uid: entity.uid, attrs: entity.attrs, parents: entity.parents }
    : { uid: entity.uid, attrs: entity.attrs, parents: entity.parents, tags: entity.tags };
}
