import { createHash } from 'node:crypto';

import { cedar, type DetailedError, type EntityJson } from '../../cedar/cedar.js';
import type { CedarCall } from '../../contract/cedar-call.js';
import type { PolicyModel } from '../../policy/compile-policy-model.js';
import { entityKey } from '../../policy/entity-store.js';
import { scopeCanMatch, sliceKey } from '../../policy/plan-slices.js';
import type { DecisionEngine, EngineAnswer, PreparedSet } from '../decision-engine.js';
import { runSteps, runStepsAsync } from '../run-steps.js';
import { EntityLimitError, reachableEntities } from './reachable-entities.js';

/** A policy set parsed into cedar-wasm, ready for statefulIsAuthorized. */
export interface PreparedPolicySet extends PreparedSet {
  /** The whole set, for requests no slice was planned for. */
  readonly setId: string;
  /** The engine slot it occupies (reused after retirement). */
  readonly slot: number;
  readonly schemaName: string | undefined;
  /** sliceKey(principal type, action id, resource type) -> preparsed id of the policies that can apply. */
  readonly slices: ReadonlyMap<string, string>;
}

let engines = 0;

/** policies.maxRequestEntities' default: at ~20 µs per entity in cedar-wasm, 5,000 entities cost ~0.1 s. */
export const DEFAULT_MAX_REQUEST_ENTITIES = 5_000;

/**
 * Wraps cedar-wasm's stateful API: parse once (preparsePolicySet/preparseSchema), evaluate many. Preparsed
 * sets live in the wasm instance's thread-local storage with no way to delete them, so retired ids are
 * overwritten with an empty set and reused, which keeps that storage bounded however many activations run.
 */
export class CedarWasmEngine implements DecisionEngine<PreparedPolicySet> {
  readonly name = 'cedar-wasm';
  readonly #validateRequests: boolean;
  readonly #slicing: boolean;
  readonly #maxEntities: number;
  readonly #freeIds: number[] = [];
  /** Slice ids each engine slot used last, so retiring the slot can blank them all. */
  readonly #sliceIds = new Map<number, string[]>();
  /** Preparsed schemas by content hash, with how many prepared sets use each. */
  readonly #schemas = new Map<string, { refs: number }>();
  readonly #slotSchema = new Map<number, string>();
  #nextId = 0;
  /**
   * Preparsed sets and schemas live in storage shared by every engine on the thread, keyed by name; the
   * prefix keeps two engines in one process (the control plane's publisher gate and its server, a test
   * runner) from overwriting each other's.
   */
  readonly #prefix = `authzd-e${engines++}`;

  constructor(options: {
    readonly validateRequests: boolean;
    readonly slicing?: boolean;
    readonly maxRequestEntities?: number;
  }) {
    this.#validateRequests = options.validateRequests;
    this.#slicing = options.slicing ?? true;
    this.#maxEntities = options.maxRequestEntities ?? DEFAULT_MAX_REQUEST_ENTITIES;
  }

  /** Parses the model's policies (and schema) into the engine and warms them. Throws on failure. */
  prepare(model: PolicyModel): PreparedPolicySet {
    return runSteps(this.#prepareSteps(model));
  }

  /**
   * The same, one slice (or a few warm-up calls) per turn of the event loop: each step is a few
   * milliseconds, so checks keep being answered by the active set while the next one is prepared.
   */
  prepareAsync(model: PolicyModel): Promise<PreparedPolicySet> {
    return runStepsAsync(this.#prepareSteps(model));
  }

  *#prepareSteps(model: PolicyModel): Generator<void, PreparedPolicySet> {
    const n = this.#freeIds.pop() ?? this.#nextId++;
    const setId = `${this.#prefix}-set-${n}`;
    const schemaName =
      model.schema !== undefined
        ? `${this.#prefix}-schema-${createHash('sha256').update(model.schema).digest('hex').slice(0, 24)}`
        : undefined;
    const ids: string[] = [];
    this.#sliceIds.set(n, ids);
    const fail = (what: string, errors: readonly DetailedError[]): never => {
      this.#release(n);
      throw new Error(`${what}: ${errors.map((e) => e.message).join('; ')}`);
    };
    if (schemaName !== undefined) {
      // Preparsing a schema costs tens of milliseconds even for small ones (100 actions: ~35-130 ms), all on
      // this thread; most activations change policies, not the schema, so an unchanged schema is reused.
      const held = this.#schemas.get(schemaName);
      if (held !== undefined) held.refs++;
      else {
        const schema = cedar.preparseSchema(schemaName, model.schemaJson ?? model.schema!);
        if (schema.type === 'failure') fail('preparseSchema', schema.errors);
        this.#schemas.set(schemaName, { refs: 1 });
        yield;
      }
      this.#slotSchema.set(n, schemaName);
    }
    const slices = new Map<string, string>();
    if (this.#slicing) {
      for (const [key, plan] of model.slicePlan) {
        const id = `${setId}-s${ids.length}`;
        const staticPolicies: Record<string, string> = {};
        for (const policyId of plan.policyIds) staticPolicies[policyId] = model.policies[policyId]!;
        const result = cedar.preparsePolicySet(id, { staticPolicies });
        if (result.type === 'failure') fail(`preparsePolicySet(${id})`, result.errors);
        ids.push(id);
        slices.set(key, id);
        yield;
      }
    } else {
      // Without slicing every request evaluates the whole set.
      const policies = cedar.preparsePolicySet(setId, { staticPolicies: model.policies });
      if (policies.type === 'failure') fail('preparsePolicySet', policies.errors);
      yield;
    }
    const prepared: PreparedPolicySet = { setId, slot: n, schemaName, model, slices };
    yield* this.#warm(prepared);
    return prepared;
  }

  authorize(set: PreparedPolicySet, call: CedarCall): EngineAnswer {
    let entities: EntityJson[];
    try {
      entities = reachableEntities(
        set.model,
        {
          principal: call.principalEntity ?? call.principal,
          action: call.action,
          resource: call.resource,
          context: call.context,
        },
        this.#maxEntities,
      );
    } catch (err) {
      if (err instanceof EntityLimitError) return { kind: 'too_many_entities', limit: err.limit };
      throw err;
    }
    // cedar-wasm throws on unknown fields, so the call object carries exactly the fields it defines.
    const answer = cedar.statefulIsAuthorized({
      principal: call.principal,
      action: call.action,
      resource: call.resource,
      context: call.context,
      entities,
      preparsedPolicySetId: this.#setFor(set, call),
      ...(set.schemaName !== undefined
        ? { preparsedSchemaName: set.schemaName, validateRequest: this.#validateRequests }
        : {}),
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

  /**
   * The preparsed id to evaluate `call` against: its planned slice, or for a kind of request no route
   * planned (a remote-tier request, say), a slice prepared on first use from the same scope rule.
   */
  #setFor(set: PreparedPolicySet, call: CedarCall): string {
    if (!this.#slicing) return set.setId;
    const key = sliceKey(call.principal.type, entityKey(call.action), call.resource.type);
    const planned = set.slices.get(key);
    if (planned !== undefined) return planned;
    const n = set.slot;
    const ids = this.#sliceIds.get(n) ?? [];
    const id = `${set.setId}-s${ids.length}`;
    const target = { principalType: call.principal.type, resourceType: call.resource.type };
    const action = entityKey(call.action);
    const ancestors = set.model.actionAncestors.get(action) ?? new Set<string>();
    const staticPolicies: Record<string, string> = {};
    for (const [policyId, scope] of set.model.policyScopes) {
      if (scopeCanMatch(scope, target, action, ancestors)) staticPolicies[policyId] = set.model.policies[policyId]!;
    }
    cedar.preparsePolicySet(id, { staticPolicies });
    ids.push(id);
    this.#sliceIds.set(n, ids);
    (set.slices as Map<string, string>).set(key, id);
    return id;
  }

  /** Frees a set that no request uses any more. */
  retire(set: PreparedPolicySet): void {
    this.#release(set.slot);
  }

  #release(n: number): void {
    if (!this.#slicing) cedar.preparsePolicySet(`${this.#prefix}-set-${n}`, { staticPolicies: {} });
    for (const id of this.#sliceIds.get(n) ?? []) cedar.preparsePolicySet(id, { staticPolicies: {} });
    this.#sliceIds.delete(n);
    const schemaName = this.#slotSchema.get(n);
    this.#slotSchema.delete(n);
    const held = schemaName !== undefined ? this.#schemas.get(schemaName) : undefined;
    if (held !== undefined && --held.refs === 0) {
      this.#schemas.delete(schemaName!);
      cedar.preparseSchema(schemaName!, ''); // frees it: there is no delete
    }
    this.#freeIds.push(n);
  }

  // The first evaluations of a fresh set are far slower than the rest (~100 ms for the very first one in a
  // process, while V8 compiles the wasm glue); pay that before the set serves traffic.
  *#warm(set: PreparedPolicySet): Generator<void> {
    const { routes, mapping } = set.model;
    const targets = routes.routes.slice(0, 32);
    for (let round = 0; round < 3; round++) {
      for (const [i, route] of targets.entries()) {
        this.authorize(set, {
          principal: { type: mapping.principal.qualifiedType, id: 'authzd-warmup' },
          action: { type: mapping.actionType, id: route.action },
          resource: { type: route.resourceType, id: 'authzd-warmup' },
          context: {},
          principalEntity: undefined,
        });
        if (i % 8 === 7) yield;
      }
      yield;
    }
  }
}

function describe(e: DetailedError): string {
  return e.help ? `${e.message} (${e.help})` : e.message;
}
