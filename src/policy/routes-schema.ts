// The shape of routes.yaml: how an HTTP request (or an L4 connection) becomes a Cedar request.
// docs/policy-model.md documents every key.
import { z } from 'zod';

import { RISK_CLASSES, type RiskClass } from '../contract/risk-class.js';

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/, 'expected a Cedar name');
const claim = z.string().min(1);

const RateSchema = z.strictObject({
  /** Sustained requests per second. */
  rps: z.number().positive().max(1_000_000),
  /** Requests allowed at once above the sustained rate (the bucket size). */
  burst: z.number().int().min(1).max(10_000_000),
});

const RiskClassShape = {
  /** How long a decision for a route of this class may be reused (0: never). */
  cacheTtlSeconds: z.number().int().min(0).max(3600),
  /** Ask the control plane (remote.url) for every decision of this class instead of deciding locally. */
  remote: z.boolean(),
  /** When a dependency this class needs is unavailable: deny (closed), or use the local decision (open). */
  failureMode: z.enum(['open', 'closed']),
  /** Latency budget of one decision of this class in milliseconds; a remote call that cannot finish within it falls back per failureMode. */
  budgetMs: z.number().int().min(1).max(60_000),
  /** Token buckets per principal and per tenant (per sidecar). */
  rateLimit: z.strictObject({ perPrincipal: RateSchema.optional(), perTenant: RateSchema.optional() }).default({}),
};

// The defaults encode the article's advice: the common path local and briefly cached, high-risk decisions
// never reused, and nothing fails open unless an operator says so for a class. High and critical classes
// can never be cached and never fail open.
const riskClass = (defaults: { cacheTtlSeconds: number; budgetMs: number }) =>
  z.strictObject({
    cacheTtlSeconds: RiskClassShape.cacheTtlSeconds.default(defaults.cacheTtlSeconds),
    remote: RiskClassShape.remote.default(false),
    failureMode: RiskClassShape.failureMode.default('closed'),
    budgetMs: RiskClassShape.budgetMs.default(defaults.budgetMs),
    rateLimit: RiskClassShape.rateLimit,
  });
const strictRiskClass = (budgetMs: number) =>
  z.strictObject({
    cacheTtlSeconds: z.literal(0).default(0),
    remote: RiskClassShape.remote.default(false),
    failureMode: z.literal('closed').default('closed'),
    budgetMs: RiskClassShape.budgetMs.default(budgetMs),
    rateLimit: RiskClassShape.rateLimit,
  });

const RiskClassesSchema = z
  .strictObject({
    low: riskClass({ cacheTtlSeconds: 30, budgetMs: 5 }).prefault({}),
    medium: riskClass({ cacheTtlSeconds: 5, budgetMs: 10 }).prefault({}),
    high: strictRiskClass(50).prefault({}),
    critical: strictRiskClass(100).prefault({}),
  })
  .prefault({});

export type RiskClassSettings = z.output<typeof RiskClassesSchema>[RiskClass];

const HTTP_METHOD = /^[A-Z]+$/;

const RouteSchema = z.strictObject({
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9._-]{0,62}$/,
      'route ids are lower-case [a-z0-9._-], up to 63 characters (they are metric labels)',
    ),
  method: z.union([z.literal('*'), z.string().regex(HTTP_METHOD), z.array(z.string().regex(HTTP_METHOD)).min(1)]),
  path: z.string().startsWith('/'),
  action: z.string().min(1),
  resource: z.strictObject({
    type: name,
    id: z.string().min(1),
  }),
  risk: z.enum(RISK_CLASSES).default('medium'),
  /** Requests without a token from an authenticated workload (mTLS peer) are decided as that workload. */
  allowWorkloads: z.boolean().default(false),
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
