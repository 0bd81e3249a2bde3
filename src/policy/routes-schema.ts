// The shape of routes.yaml: how an HTTP request (or an L4 connection) becomes a Cedar request.
// docs/policy-model.md documents every key.
import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/, 'expected a Cedar name');
const claim = z.string().min(1);

export const RISK_CLASSES = ['low', 'medium', 'high', 'critical'] as const;
export type RiskClass = (typeof RISK_CLASSES)[number];

const RiskClassSchema = z.strictObject({
  /** How long a decision for a route of this class may be reused (0: never). */
  cacheTtlSeconds: z.number().int().min(0).max(3600),
});

// High-risk decisions are never reused: they must see the freshest state on every request.
const NEVER_CACHED = { cacheTtlSeconds: z.literal(0).default(0) };
const RiskClassesSchema = z
  .strictObject({
    low: RiskClassSchema.default({ cacheTtlSeconds: 30 }),
    medium: RiskClassSchema.default({ cacheTtlSeconds: 5 }),
    high: z.strictObject(NEVER_CACHED).prefault({}),
    critical: z.strictObject(NEVER_CACHED).prefault({}),
  })
  .prefault({});

const HTTP_METHOD = /^[A-Z]+$/;

const RouteSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'route ids are lower-case [a-z0-9._-], up to 63 characters (they are metric labels)'),
  method: z.union([z.literal('*'), z.string().regex(HTTP_METHOD), z.array(z.string().regex(HTTP_METHOD)).min(1)]),
  path: z.string().startsWith('/'),
  action: z.string().min(1),
  resource: z.strictObject({
    type: name,
    id: z.string().min(1),
  }),
  risk: z.enum(RISK_CLASSES).default('medium'),
});

export const RoutesFileSchema = z.strictObject({
  namespace: name.optional(),
  principal: z
    .strictObject({
      type: name.default('User'),
      idClaim: claim.default('sub'),
      rolesClaim: claim.optional(),
      roleType: name.optional(),
      tenantClaim: claim.default('tenant'),
      /** Cedar attribute name -> claim name. */
      attributes: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), claim).default({}),
    })
    .prefault({})
    .refine((p) => p.rolesClaim === undefined || p.roleType !== undefined, { message: 'rolesClaim needs roleType' }),
  /** Requests without HTTP attributes (Envoy's network ext_authz filter) are decided on peer identity. */
  network: z
    .strictObject({
      principalType: name.default('Workload'),
      action: z.string().min(1).default('connect'),
      resourceType: name.default('Service'),
    })
    .prefault({}),
  riskClasses: RiskClassesSchema,
  /** context_extensions keys (set per route in Envoy) copied into context.extensions. */
  contextExtensions: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
  routes: z.array(RouteSchema).min(1),
});

export type RoutesFile = z.output<typeof RoutesFileSchema>;
export type RouteSpec = z.output<typeof RouteSchema>;
