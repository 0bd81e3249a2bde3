import { cedar, type CedarValueJson, type DetailedError, type EntityJson } from './cedar.js';
import type { EntityUid } from './entity-store.js';
import type { PolicyModel } from './compile-policy-model.js';

/** A policy set parsed into the engine, ready for statefulIsAuthorized. */
export interface PreparedPolicySet {
  readonly setId: string;
  readonly schemaName: string | undefined;
  readonly model: PolicyModel;
}

export interface CedarCall {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: Record<string, CedarValueJson>;
  readonly entities: EntityJson[];
}

export type EngineAnswer =
  | {
      readonly kind: 'decision';
      readonly allow: boolean;
      /** Cedar's "reason": the policies that determined the decision. */
      readonly determining: readonly string[];
      readonly errored: readonly { readonly policyId: string; readonly message: string }[];
    }
  /** Cedar refused the request itself, e.g. it does not conform to the schema. */
  | { readonly kind: 'invalid'; readonly messages: readonly string[] };

/**
 * Wraps cedar-wasm's stateful API: parse once (preparsePolicySet/preparseSchema), evaluate many. Preparsed
 * sets live in the wasm instance's thread-local storage with no way to delete them, so retired ids are
 * overwritten with an empty set and reused, which keeps that storage bounded however many activations run.
 */
export class PolicyEngine {
  readonly #validateRequests: boolean;
  readonly #freeIds: number[] = [];
  #nextId = 0;

  constructor(options: { readonly validateRequests: boolean }) {
    this.#validateRequests = options.validateRequests;
  }

  /** Parses the model's policies (and schema) into the engine and warms them. Throws on failure. */
  prepare(model: PolicyModel): PreparedPolicySet {
    const n = this.#freeIds.pop() ?? this.#nextId++;
    const setId = `authzd-set-${n}`;
    const schemaName = model.schema !== undefined ? `authzd-schema-${n}` : undefined;
    const policies = cedar.preparsePolicySet(setId, { staticPolicies: model.policies });
    if (policies.type === 'failure') {
      this.#freeIds.push(n);
      throw new Error(`preparsePolicySet: ${policies.errors.map((e) => e.message).join('; ')}`);
    }
    if (schemaName !== undefined) {
      const schema = cedar.preparseSchema(schemaName, model.schema!);
      if (schema.type === 'failure') {
        this.#release(n);
        throw new Error(`preparseSchema: ${schema.errors.map((e) => e.message).join('; ')}`);
      }
    }
    const prepared = { setId, schemaName, model };
    this.#warm(prepared);
    return prepared;
  }

  authorize(set: PreparedPolicySet, call: CedarCall): EngineAnswer {
    // cedar-wasm throws on unknown fields, so the call object carries exactly the fields it defines.
    const answer = cedar.statefulIsAuthorized({
      principal: call.principal,
      action: call.action,
      resource: call.resource,
      context: call.context,
      entities: call.entities,
      preparsedPolicySetId: set.setId,
      ...(set.schemaName !== undefined ? { preparsedSchemaName: set.schemaName, validateRequest: this.#validateRequests } : {}),
    });
    if (answer.type === 'failure') return { kind: 'invalid', messages: answer.errors.map(describe) };
    const { decision, diagnostics } = answer.response;
    return {
      kind: 'decision',
      allow: decision === 'allow',
      determining: diagnostics.reason,
      errored: diagnostics.errors.map((e) => ({ policyId: e.policyId, message: describe(e.error) })),
    };
  }

  /** Frees a set that no request uses any more. */
  retire(set: PreparedPolicySet): void {
    this.#release(Number(set.setId.slice('authzd-set-'.length)));
  }

  #release(n: number): void {
    cedar.preparsePolicySet(`authzd-set-${n}`, { staticPolicies: {} });
    this.#freeIds.push(n);
  }

  // The first evaluations of a fresh set are far slower than the rest (~100 ms for the very first one in a
  // process, while V8 compiles the wasm glue); pay that before the set serves traffic.
  #warm(set: PreparedPolicySet): void {
    const { routes, mapping } = set.model;
    const targets = routes.routes.slice(0, 32);
    for (let round = 0; round < 3; round++) {
      for (const route of targets) {
        this.authorize(set, {
          principal: { type: mapping.principal.qualifiedType, id: 'authzd-warmup' },
          action: { type: mapping.actionType, id: route.action },
          resource: { type: route.resourceType, id: 'authzd-warmup' },
          context: {},
          entities: [],
        });
      }
    }
  }
}

function describe(e: DetailedError): string {
  return e.help ? `${e.message} (${e.help})` : e.message;
}
