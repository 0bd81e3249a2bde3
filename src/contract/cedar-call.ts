// The Cedar request wire format: what authzd asks a decision engine, wherever the request comes from.
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';

/** An entity's type and id, as Cedar names it (`Bank::User::"alice"` is {type: "Bank::User", id: "alice"}). */
export interface EntityUid {
  readonly type: string;
  readonly id: string;
}

/** The principal of a Cedar request as its caller built it (claims, stored attributes, parents). */
export interface PrincipalEntity {
  readonly uid: EntityUid;
  readonly attrs: Record<string, CedarValueJson>;
  readonly parents: readonly EntityUid[];
  /** The stored entity's tags (claims never make tags). */
  readonly tags?: Readonly<Record<string, CedarValueJson>>;
}

/**
 * A Cedar request as authzd builds it. The entities Cedar sees are not part of it: the engine takes them
 * from the policy set's store (see reachableEntities), with the principal as built here in place of the
 * stored one, so a request answered from the decision cache or by the remote tier never computes them.
 */
export interface CedarCall {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: Record<string, CedarValueJson>;
  /** The principal as evaluated (claims and stored attributes, parents); undefined: as stored, if at all. */
  readonly principalEntity: PrincipalEntity | undefined;
}
