import type { PolicyAst } from './ast.js';
import { type CompiledPolicy, compilePolicy, type Env, isSatisfied, PolicyCompileError } from './compile-policy.js';
import { EntityStore } from './entity-store.js';
import { EntityView, type Overlay, prepareOverlay } from './entity-view.js';
import { EvalError } from './eval-error.js';
import { explainRequest, type Explanation } from './explain.js';
import { parseJsonText } from './json-text.js';
import { EntityError } from './parse-entity.js';
import { hasSlots, parsePolicy } from './parse-policy.js';
import { CedarJsonError, checkEuid, ValueParser } from './parse-value.js';
import { policyFromJson } from './policy-from-json.js';
import { PolicyIndex } from './policy-index.js';
import { buildSchema, type Schema } from './schema.js';
import { CedarRecord, EntityRef } from './values.js';

/** An entity uid as Cedar's JSON writes it. */
export interface CedarUid {
  readonly type: string;
  readonly id: string;
}

/** A request in Cedar's JSON shape; `context` is a Cedar JSON record (schema-directed when there is a schema). */
export interface NativeRequest {
  readonly principal: CedarUid;
  readonly action: CedarUid;
  readonly resource: CedarUid;
  readonly context?: unknown;
}

export interface NativeCallOptions {
  /**
   * Entities (Cedar's JSON entity format) that exist for this call only and replace store entities with
   * the same uid: authzd's principal built from token claims. Checked against the schema as Cedar checks
   * the entities of a call.
   */
  readonly overlay?: readonly unknown[];
  /** Check the request against the schema first, as cedar-wasm's `validateRequest`. Default: true with a schema. */
  readonly validateRequest?: boolean;
}

export interface PolicyErrorReport {
  readonly policyId: string;
  readonly message: string;
}

/**
 * Cedar's answer: the decision, the determining policies (forbids that hold, else permits that hold) and
 * the policies whose evaluation errored (they are skipped, whatever their effect) — or, as cedar-wasm's
 * `failure`, the reasons the request could not be evaluated at all (it does not conform to the schema, or
 * its context or overlay entities are malformed).
 */
export type NativeAnswer =
  | {
      readonly type: 'decision';
      readonly decision: 'allow' | 'deny';
      readonly reason: readonly string[];
      readonly errors: readonly PolicyErrorReport[];
    }
  | { readonly type: 'invalid'; readonly errors: readonly string[] };

export type RequestValidity = { readonly valid: true } | { readonly valid: false; readonly errors: readonly string[] };

/** A policy as given to compile: Cedar text of one policy, its cedar-wasm policyToJson JSON, or a parsed AST. */
export type PolicySource = string | { readonly json: unknown } | { readonly ast: PolicyAst };

export interface NativeEngineInput {
  /** Policy id -> policy. Ids are the caller's (authzd's @id values); Cedar's policy0… naming is not used. */
  readonly policies: Readonly<Record<string, PolicySource>>;
  /** The schema in Cedar's JSON schema format (for Cedar schema text, see cedar-wasm-adapter.ts). */
  readonly schema?: unknown;
  /** The entity store: Cedar's JSON entity array, or its text (read losslessly: 64-bit integers stay exact). */
  readonly entities?: unknown;
}

export class NativeCompileError extends Error {
  override readonly name = 'NativeCompileError';
  constructor(readonly problems: readonly string[]) {
    super(`native engine: ${problems.join('; ')}`);
  }
}

/** What a NativeEngine is made of, once compiled. */
class Parts {
  constructor(
    readonly schema: Schema | undefined,
    readonly store: EntityStore,
    readonly policies: readonly CompiledPolicy[],
  ) {}
}

function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

function* buildParts(input: NativeEngineInput): Generator<void, Parts> {
  let schema: Schema | undefined;
  try {
    schema =
      input.schema === undefined || input.schema === null
        ? undefined
        : buildSchema(typeof input.schema === 'string' ? parseJsonText(input.schema) : input.schema);
  } catch (e) {
    throw new NativeCompileError([`schema: ${(e as Error).message}`]);
  }
  let store: EntityStore;
  try {
    let entities: unknown = input.entities ?? [];
    if (typeof entities === 'string') entities = parseJsonText(entities);
    store = yield* EntityStore.buildSteps(entities, schema);
  } catch (e) {
    if (e instanceof EntityError || e instanceof CedarJsonError || (e as Error).name === 'JsonSyntaxError')
      throw new NativeCompileError([`entities: ${(e as Error).message}`]);
    throw e;
  }
  const problems: string[] = [];
  const compiled: CompiledPolicy[] = [];
  let order = 0;
  for (const [id, src] of Object.entries(input.policies)) {
    try {
      const ast = typeof src === 'string' ? parsePolicy(src) : 'ast' in src ? src.ast : policyFromJson(src.json);
      if (hasSlots(ast)) throw new PolicyCompileError('templates (policies with slots) are not supported');
      compiled.push(compilePolicy(id, ast, order++, store));
    } catch (e) {
      problems.push(`policy ${JSON.stringify(id)}: ${(e as Error).message}`);
    }
    if (order % 100 === 99) yield;
  }
  if (problems.length > 0) throw new NativeCompileError(problems);
  return new Parts(schema, store, compiled);
}

/** A request that cannot be evaluated (cedar-wasm answers `failure` for it). */
class RequestFailure {
  constructor(readonly errors: readonly string[]) {}
}

interface Prepared {
  readonly env: Env;
  readonly overlay: Overlay | undefined;
}

/**
 * A native Cedar evaluator compiled once per activation: policies parsed (natively, exact for 64-bit
 * literals) and compiled to closures, the schema resolved, the entity store indexed with its ancestor
 * closure. Every call reads the store directly; nothing is copied or re-parsed per call but the request's
 * context and overlay entities.
 */
export class NativeEngine {
  readonly schema: Schema | undefined;
  readonly store: EntityStore;
  readonly policies: readonly CompiledPolicy[];
  readonly #index: PolicyIndex;
  readonly #parser: ValueParser;
  readonly #plainView: EntityView;

  /** Compiles everything at once (see compileSteps for a large store). Throws NativeCompileError. */
  constructor(input: NativeEngineInput | Parts) {
    const parts = input instanceof Parts ? input : drain(buildParts(input));
    this.schema = parts.schema;
    this.store = parts.store;
    this.policies = parts.policies;
    this.#parser = new ValueParser(undefined, parts.schema);
    this.#index = new PolicyIndex(parts.policies, parts.store);
    // Every kind of request the schema allows gets its candidate list now, at activation.
    if (parts.schema !== undefined) this.#index.prime(parts.schema);
    this.#plainView = new EntityView(parts.store, undefined);
  }

  /**
   * The same compilation in steps of a few milliseconds (a few thousand entities, or a hundred policies,
   * per step): drive it with `await` on setImmediate between steps and a large activation does not stall
   * the event loop. The entity JSON can be parsed elsewhere (a worker: parseJsonText keeps 64-bit integers
   * exact, and structured clone keeps bigints) and passed as a value.
   */
  static *compileSteps(input: NativeEngineInput): Generator<void, NativeEngine> {
    return new NativeEngine(yield* buildParts(input));
  }

  isAuthorized(request: NativeRequest, options: NativeCallOptions = {}): NativeAnswer {
    let prepared: Prepared;
    try {
      prepared = this.#prepare(request, options);
    } catch (e) {
      if (e instanceof RequestFailure) return { type: 'invalid', errors: e.errors };
      throw e;
    }
    const { env, overlay } = prepared;
    const candidates =
      overlay?.hasActions === true
        ? this.policies
        : this.#index.candidates(env.action, env.principal.type, env.resource.type);
    let forbids: string[] | undefined;
    let permits: string[] | undefined;
    let errors: PolicyErrorReport[] | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[i]!;
      try {
        if (isSatisfied(p, env)) {
          if (p.effect === 'forbid') (forbids ??= []).push(p.id);
          else (permits ??= []).push(p.id);
        }
      } catch (e) {
        (errors ??= []).push({ policyId: p.id, message: evalMessage(e) });
      }
    }
    if (forbids !== undefined) return { type: 'decision', decision: 'deny', reason: forbids, errors: errors ?? NONE };
    if (permits !== undefined) return { type: 'decision', decision: 'allow', reason: permits, errors: errors ?? NONE };
    return { type: 'decision', decision: 'deny', reason: NONE, errors: errors ?? NONE };
  }

  /** Whether the request conforms to the schema (cedar-wasm's request validation); always valid without a schema. */
  validateRequest(request: NativeRequest): RequestValidity {
    try {
      this.#prepare(request, { validateRequest: true });
      return { valid: true };
    } catch (e) {
      if (e instanceof RequestFailure) return { valid: false, errors: e.errors };
      throw e;
    }
  }

  /** Per policy: scope, each condition's value or error and the sub-expression that raised it. Not for the hot path. */
  explain(
    request: NativeRequest,
    options: NativeCallOptions = {},
  ): Explanation | { readonly type: 'invalid'; readonly errors: readonly string[] } {
    let prepared: Prepared;
    try {
      prepared = this.#prepare(request, options);
    } catch (e) {
      if (e instanceof RequestFailure) return { type: 'invalid', errors: e.errors };
      throw e;
    }
    return explainRequest(this.policies, prepared.env, this.isAuthorized(request, options));
  }

  #uid(json: unknown, what: string): EntityRef {
    const o = json as { type?: unknown; id?: unknown; __entity?: unknown } | null;
    const inner = (
      typeof o === 'object' && o !== null && typeof o.type !== 'string' && typeof o.__entity === 'object'
        ? o.__entity
        : o
    ) as { type?: unknown; id?: unknown } | null;
    if (typeof inner !== 'object' || inner === null || typeof inner.type !== 'string' || typeof inner.id !== 'string')
      throw new RequestFailure([`${what}: expected {"type": string, "id": string}`]);
    if (!this.#parser.validName(inner.type))
      throw new RequestFailure([`${what}: invalid entity type \`${inner.type}\``]);
    return new EntityRef(inner.type, inner.id);
  }

  #prepare(request: NativeRequest, options: NativeCallOptions): Prepared {
    const principal = this.#uid(request.principal, 'principal');
    const action = this.#uid(request.action, 'action');
    const resource = this.#uid(request.resource, 'resource');
    const schema = this.schema;
    let context: CedarRecord;
    const json = request.context ?? {};
    try {
      if (schema !== undefined) {
        const def = schema.actions.get(action.key);
        if (def === undefined)
          throw new RequestFailure([`action \`${action.toString()}\` is not declared in the schema`]);
        this.#parser.reset();
        context = this.#parser.parse(json, def.context, 'context') as CedarRecord;
        if (options.validateRequest ?? true) this.#validate(principal, resource, def, schema);
      } else {
        const v = this.#parser.parse(json, undefined, 'context');
        if (!isRecord(v)) throw new RequestFailure(['context: expected a record']);
        context = v;
      }
    } catch (e) {
      if (e instanceof CedarJsonError) throw new RequestFailure([e.message]);
      throw e;
    }
    let overlay: Overlay | undefined;
    if (options.overlay !== undefined && options.overlay.length > 0) {
      try {
        overlay = prepareOverlay(options.overlay, schema, this.store, this.#parser);
      } catch (e) {
        if (e instanceof EntityError || e instanceof CedarJsonError) throw new RequestFailure([e.message]);
        throw e;
      }
    }
    const view = overlay === undefined ? this.#plainView : new EntityView(this.store, overlay);
    return { env: { principal, action, resource, context, view }, overlay };
  }

  /** Cedar's request validation; the context's types and entity references were checked while parsing it. */
  #validate(
    principal: EntityRef,
    resource: EntityRef,
    def: NonNullable<ReturnType<Schema['actions']['get']>>,
    schema: Schema,
  ): void {
    const problems: string[] = [];
    for (const [what, ref, allowed] of [
      ['principal', principal, def.principalTypes],
      ['resource', resource, def.resourceTypes],
    ] as const) {
      if (!schema.entityTypes.has(ref.type))
        problems.push(`${what} type \`${ref.type}\` is not declared in the schema`);
      else {
        const m = checkEuid(ref, schema);
        if (m !== undefined) problems.push(m);
        if (!allowed.has(ref.type))
          problems.push(`${what} type \`${ref.type}\` is not valid for \`${def.uid.toString()}\``);
      }
    }
    if (this.#parser.badEuid !== undefined) problems.push(`context: ${this.#parser.badEuid}`);
    if (!this.#parser.conforms)
      problems.push(`context does not conform to the context type of \`${def.uid.toString()}\``);
    if (problems.length > 0) throw new RequestFailure(problems);
  }
}

const NONE: readonly never[] = Object.freeze([]);

const isRecord = (v: unknown): v is CedarRecord => v instanceof CedarRecord;

function evalMessage(e: unknown): string {
  if (e instanceof EvalError) return e.message;
  // Cedar bounds its recursion and reports an error for the policy; so does this (V8's stack limit).
  if (e instanceof RangeError) return `evaluation error: ${e.message}`;
  throw e;
}

/** Compiles a native engine (throws NativeCompileError listing every problem). */
export function compileNativeEngine(input: NativeEngineInput): NativeEngine {
  return new NativeEngine(input);
}
