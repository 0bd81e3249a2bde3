import type { CedarValueJson } from '../cedar/cedar.js';
import type { EntityUid } from '../contract/cedar-call.js';
import type { CedarCall } from '../contract/cedar-call.js';
import type { PrincipalEntity } from '../contract/cedar-call.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import { qualifyType } from '../policy/qualify-type.js';
import type { RouteMatch } from '../policy/route-table.js';
import type { VerifiedToken } from '../token/token-verifier.js';
import type { Subject } from './authenticator.js';
import { claimToCedar, ipValue, stringList } from './cedar-values.js';
import type { HttpFacts, RequestFacts } from './extract-request.js';
import type { NormalizedPath } from './normalize-path.js';

/**
 * The Cedar request for an HTTP call: principal from the token (or the calling workload), action and
 * resource from the route, context from request, token, peer and risk facts (shape documented in
 * docs/policy-model.md), and only the slice of entities the request can reach.
 *
 * Claims are hints, the entity store is the truth: when entities.json knows the principal, its stored
 * attributes win over claims of the same name and its stored parents are kept next to token roles.
 */
export interface BuiltCall {
  readonly call: CedarCall;
  readonly tenant: string | undefined;
}

/** Context parts that do not come from the route or the token. */
export interface CallExtras {
  /** The calling workload's SPIFFE ID when known: a user acting through a service. */
  readonly peer: string | undefined;
  readonly risk: Record<string, CedarValueJson> | undefined;
}

export function buildHttpCall(
  model: PolicyModel,
  facts: RequestFacts & { readonly http: HttpFacts },
  path: NormalizedPath,
  match: RouteMatch,
  subject: Subject,
  extras: CallExtras,
): BuiltCall | undefined {
  const { mapping, entities: store } = model;
  let principal: EntityUid;
  let principalEntity: PrincipalEntity;
  let tenant: string | undefined;
  if (subject.kind === 'user') {
    const spec = mapping.principal;
    const claims = subject.token.claims;
    const principalId = claims[spec.idClaim];
    if (typeof principalId !== 'string' || principalId.length === 0) return undefined;
    // Each issuer names its own principals (tokens.issuers[].principal), so one identity provider can
    // never speak for another's users: the config refuses two issuers that could name the same one.
    const own = subject.token.issuer.principal;
    principal = {
      type: own.type === undefined ? spec.qualifiedType : qualifyType(model.namespace, own.type),
      id: own.idPrefix + principalId,
    };
    const attrs: Record<string, CedarValueJson> = {};
    for (const attr in spec.attributes) {
      const value = claimToCedar(claims[spec.attributes[attr]!]);
      if (value !== undefined) attrs[attr] = value;
    }
    const roles: EntityUid[] =
      spec.rolesClaim !== undefined && own.roles
        ? stringList(claims[spec.rolesClaim]).map((id) => ({ type: spec.qualifiedRoleType!, id }))
        : [];
    const stored = store.get(principal);
    if (stored !== undefined) Object.assign(attrs, stored.attrs);
    principalEntity = {
      uid: principal,
      attrs,
      parents: stored !== undefined ? [...stored.parents, ...roles] : roles,
      ...(stored?.tags !== undefined ? { tags: stored.tags } : {}),
    };
    const tenantClaim = claims[spec.tenantClaim];
    tenant = typeof tenantClaim === 'string' ? tenantClaim : undefined;
  } else {
    principal = { type: mapping.network.principalType, id: subject.id };
    const stored = store.get(principal);
    principalEntity = {
      uid: principal,
      attrs: { ...(stored?.attrs ?? {}) },
      parents: [...(stored?.parents ?? [])],
      ...(stored?.tags !== undefined ? { tags: stored.tags } : {}),
    };
    const storedTenant = stored?.attrs.tenant;
    tenant = typeof storedTenant === 'string' ? storedTenant : undefined;
  }

  const action: EntityUid = { type: mapping.actionType, id: match.route.action };
  const resource: EntityUid = { type: match.route.resourceType, id: match.route.resourceId(match.params) };

  const entity = principalEntity;

  const context: Record<string, CedarValueJson> = { request: requestFacts(facts, path, match.route.id) };
  if (subject.kind === 'user') context.token = tokenFacts(subject.token, tenant);
  if (extras.peer !== undefined) context.peer = { principal: extras.peer };
  if (extras.risk !== undefined) context.risk = extras.risk;
  if (mapping.contextExtensions.length > 0) context.extensions = extensions(facts, mapping.contextExtensions);
  return { call: { principal, action, resource, context, principalEntity: entity }, tenant };
}

/**
 * The Cedar request for a call without HTTP attributes (Envoy's network filter, Istio's TCP CUSTOM
 * provider): the source workload connecting to the destination service. Undefined when the peer has no
 * identity.
 */
export function buildNetworkCall(model: PolicyModel, facts: RequestFacts): CedarCall | undefined {
  const { network } = model.mapping;
  const sourcePrincipal = facts.source.principal;
  if (sourcePrincipal === undefined) return undefined;
  const principal: EntityUid = { type: network.principalType, id: sourcePrincipal };
  const destination = facts.destination;
  const resourceId =
    destination.principal ?? (destination.ip !== undefined ? `${destination.ip}:${destination.port ?? 0}` : 'unknown');
  const resource: EntityUid = { type: network.resourceType, id: resourceId };
  const action: EntityUid = { type: model.mapping.actionType, id: network.action };
  const connection: Record<string, CedarValueJson> = { time: Math.floor(facts.timeMs / 1000) };
  if (facts.source.ip !== undefined) connection.sourceIp = ipValue(facts.source.ip);
  if (destination.ip !== undefined) connection.destinationIp = ipValue(destination.ip);
  if (destination.port !== undefined) connection.destinationPort = destination.port;
  // The principal is the stored entity as it is (principalEntity undefined): nothing of the connection adds to it.
  return { principal, action, resource, context: { connection }, principalEntity: undefined };
}

function requestFacts(
  facts: RequestFacts & { readonly http: HttpFacts },
  path: NormalizedPath,
  routeId: string,
): CedarValueJson {
  const out: Record<string, CedarValueJson> = {
    method: facts.http.method,
    path: path.path,
    host: facts.http.host,
    scheme: facts.http.scheme,
    routeId,
    time: Math.floor(facts.timeMs / 1000),
  };
  if (facts.source.ip !== undefined) out.sourceIp = ipValue(facts.source.ip);
  return out;
}

function tokenFacts(token: VerifiedToken, tenant: string | undefined): CedarValueJson {
  const c = token.claims;
  const out: Record<string, CedarValueJson> = {
    iss: c.iss,
    sub: c.sub,
    // Cedar longs are exact only up to 2^53 in cedar-wasm, and fractional NumericDates are legal in JWTs.
    exp: Math.min(Math.floor(c.exp), Number.MAX_SAFE_INTEGER),
    scope: stringList(c.scope ?? c.scp),
    amr: stringList(c.amr),
  };
  if (typeof c.acr === 'string') out.acr = c.acr;
  if (Number.isSafeInteger(c.auth_time)) out.authTime = c.auth_time as number;
  if (Number.isSafeInteger(c.iat)) out.iat = c.iat!;
  if (tenant !== undefined) out.tenant = tenant;
  const clientId = c.client_id ?? c.azp;
  if (typeof clientId === 'string') out.clientId = clientId;
  return out;
}

function extensions(facts: RequestFacts, names: readonly string[]): CedarValueJson {
  const out: Record<string, CedarValueJson> = {};
  for (const name of names) {
    const value = facts.contextExtensions[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
