// The configuration schema: every key, its type and default. Unknown keys anywhere are an error.
// docs/configuration.md lists the same keys; test/unit/docs-sync.test.ts keeps them in step.
import { isIP } from 'node:net';

import { z } from 'zod';

/** Asymmetric JWS algorithms only: `none` and HMAC can never be configured (RFC 8725 §3.1, §3.2). */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const duration = (min: number, max: number) => z.number().int().min(min).max(max);

const address = z
  .string()
  .min(1)
  .refine((a) => a.startsWith('unix://') || /^[^\s]+:\d{1,5}$/.test(a), {
    message: 'expected HOST:PORT or unix:///path',
  });

/** An IP address or CIDR block, e.g. 10.0.0.0/8 or ::1/128. */
const ipOrCidr = z.string().refine(
  (s) => {
    const [ip = '', bits, ...rest] = s.split('/');
    const family = isIP(ip);
    return (
      family !== 0 &&
      rest.length === 0 &&
      (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))
    );
  },
  { message: 'expected an IP address or CIDR block, e.g. 10.0.0.0/8' },
);

const IssuerSchema = z
  .strictObject({
    issuer: z.string().min(1),
    audiences: z.array(z.string().min(1)).min(1),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519']),
    jwksFile: z.string().min(1).optional(),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    jwksTimeoutMs: duration(1, 60_000).default(2_000),
    jwksCooldownMs: duration(0, 3_600_000).default(30_000),
    jwksMaxAgeMs: duration(1_000, 86_400_000).default(600_000),
    /** Serve tokens signed by keys from the last good key set when a refresh fails, for this long. */
    jwksStaleIfErrorMs: duration(0, 86_400_000).default(3_600_000),
    requiredType: z.string().min(1).optional(),
    /**
     * Who this issuer's tokens speak for: principals of `type` (routes.yaml's principal.type unless set)
     * with ids `idPrefix` + the id claim. Two issuers must never be able to name the same principal.
     */
    principal: z
      .strictObject({
        type: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/, 'expected a Cedar type name')
          .optional(),
        idPrefix: z.string().default(''),
        /** Whether this issuer's roles claim becomes the principal's parents (routes.yaml principal.rolesClaim). */
        roles: z.boolean().default(true),
      })
      .prefault({}),
  })
  .refine((i) => (i.jwksFile === undefined) !== (i.jwksUrl === undefined), {
    message: 'exactly one of jwksFile and jwksUrl is required',
  });

/**
 * Whether two issuers' principals may coincide: their types may be the same type (an unqualified name is
 * relative to routes.yaml's namespace, unknown here, so it may equal a qualified one with the same last
 * component) and one id prefix starts the other (then some pair of id claims gives the same id).
 */
function principalsMayCollide(a: IssuerConfig['principal'], b: IssuerConfig['principal']): boolean {
  const last = (t: string) => t.slice(t.lastIndexOf('::') + 1).replace(/^:/, '');
  const ta = a.type;
  const tb = b.type;
  const sameType =
    ta === undefined || tb === undefined
      ? ta === tb
      : ta.includes('::') && tb.includes('::')
        ? ta === tb
        : last(ta) === last(tb);
  return sameType && (a.idPrefix.startsWith(b.idPrefix) || b.idPrefix.startsWith(a.idPrefix));
}

const ConfigObject = z.strictObject({
  grpc: z
    .strictObject({
      address: address.default('0.0.0.0:9191'),
      reflection: z.boolean().default(false),
      maxReceiveMessageBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      workers: z.number().int().min(1).max(64).default(1),
    })
    .prefault({}),
  admin: z
    .strictObject({
      address: address.default('0.0.0.0:9192'),
    })
    .prefault({}),
  // The plain-HTTP authorization interface (docs/http-interface.md); off unless an address is set.
  http: z
    .strictObject({
      address: address.optional(),
      originalRequest: z.enum(['request', 'x-original', 'x-forwarded']).default('request'),
      pathPrefix: z
        .string()
        .regex(/^(\/[^\s?#]*[^\s?#/])?$/, { message: 'expected "" or a path like /authz (no trailing slash)' })
        .default(''),
      trustedProxies: z.array(ipOrCidr).default(['127.0.0.1/32', '::1/128']),
    })
    .prefault({}),
  // Bounds on one CheckRequest's HTTP attributes; beyond them a request is denied 400 request_too_large.
  limits: z
    .strictObject({
      maxHeaders: z.number().int().min(1).max(100_000).default(200),
      maxHeaderBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(65_536),
      maxPathBytes: z
        .number()
        .int()
        .min(256)
        .max(16 * 1024 * 1024)
        .default(8192),
    })
    .prefault({}),
  policies: z
    .strictObject({
      directory: z.string().min(1).optional(),
      onError: z.enum(['deny', 'ignore']).default('deny'),
      validateRequests: z.boolean().default(true),
      slicing: z.boolean().default(true),
      /** Most entities one request may reach (reachable-entities.ts); past it the request is denied entity_limit_exceeded. */
      maxRequestEntities: z.number().int().min(1).max(1_000_000).default(5_000),
      /** Which Cedar evaluator decides (docs/policy-model.md, "Which engine decides"). */
      engine: z.enum(['native', 'cedar-wasm']).default('native'),
    })
    .prefault({}),
  engine: z
    .strictObject({
      /**
       * Fraction of the native engine's decisions re-evaluated by cedar-wasm on a worker thread and compared
       * (authzd_engine_disagreements_total); 0 turns shadow verification off. Ignored with policies.engine cedar-wasm.
       */
      verifySample: z.number().min(0).max(1).default(0.01),
      /** Samples waiting for the verifier at most; past it samples are dropped and counted. */
      verifyQueue: z.number().int().min(1).max(100_000).default(256),
    })
    .prefault({}),
  checks: z
    .strictObject({
      /** Deadline of a check whose caller sets none (Envoy sends its ext_authz timeout as the gRPC deadline). */
      defaultDeadlineMs: duration(10, 600_000).default(1_000),
    })
    .prefault({}),
  // How request paths are read (src/check/normalize-path.ts).
  paths: z
    .strictObject({
      /** Accept `;` (matrix parameters) inside path segments; `..;` and `.;` are refused regardless. */
      allowSemicolons: z.boolean().default(false),
    })
    .prefault({}),
  bundle: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional(),
      publicKeys: z.array(z.strictObject({ file: z.string().min(1), kid: z.string().min(1).optional() })).default([]),
      scope: z.string().min(1).optional(),
      cacheDir: z.string().min(1).optional(),
      tokenFile: z.string().min(1).optional(),
      tokenEnv: z.string().min(1).optional(),
      pollWaitSeconds: z.number().int().min(0).max(60).default(30),
      pollIntervalSeconds: z.number().int().min(1).max(3600).default(10),
      requestTimeoutMs: duration(100, 120_000).default(10_000),
      minBackoffMs: duration(10, 600_000).default(500),
      maxBackoffMs: duration(100, 3_600_000).default(30_000),
      maxBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024 * 1024)
        .default(16 * 1024 * 1024),
      allowRollback: z.boolean().default(false),
    })
    .prefault({})
    .refine((b) => b.url === undefined || b.publicKeys.length > 0, {
      message: 'bundle.url needs at least one of bundle.publicKeys: bundles are always verified',
    }),
  revocation: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional(),
      tokenFile: z.string().min(1).optional(),
      tokenEnv: z.string().min(1).optional(),
      // Where the revocation list is persisted; bundle.cacheDir when unset (docs/configuration.md).
      cacheDir: z.string().min(1).optional(),
      // A persisted list last in sync longer ago than this does not make a restarted sidecar ready.
      cacheMaxAgeSeconds: z
        .number()
        .int()
        .min(0)
        .max(366 * 86_400)
        .default(3600),
      pollWaitSeconds: z.number().int().min(0).max(60).default(30),
      pollIntervalSeconds: z.number().int().min(1).max(3600).default(5),
      requestTimeoutMs: duration(100, 120_000).default(10_000),
      minBackoffMs: duration(10, 600_000).default(500),
      maxBackoffMs: duration(100, 3_600_000).default(30_000),
    })
    .prefault({}),
  remote: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional(),
      tokenFile: z.string().min(1).optional(),
      tokenEnv: z.string().min(1).optional(),
      maxConcurrent: z.number().int().min(1).max(10_000).default(64),
      failureThreshold: z.number().int().min(1).max(1000).default(5),
      cooldownMs: duration(100, 600_000).default(5_000),
      askWhenResourceUnknown: z.boolean().default(true),
    })
    .prefault({}),
  trustedPeers: z
    .strictObject({
      principals: z.array(z.string().min(1)).default([]),
      cidrs: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  riskSignals: z
    .strictObject({
      metadataNamespace: z.string().min(1).optional(),
      headers: z
        .strictObject({
          score: z.string().min(1).toLowerCase().optional(),
          deviceTrust: z.string().min(1).toLowerCase().optional(),
        })
        .prefault({}),
      rateWindowSeconds: z.number().int().min(1).max(3600).default(60),
    })
    .prefault({}),
  assertions: z
    .strictObject({
      enabled: z.boolean().default(false),
      audience: z.string().min(1).optional(),
      issuer: z.string().min(1).default('authzd'),
      actor: z.string().min(1).optional(),
      header: z.string().min(1).toLowerCase().default('x-authz-assertion'),
      ttlSeconds: z.number().int().min(5).max(3600).default(60),
      algorithm: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
      rotateMinutes: z.number().int().min(1).max(10_080).default(360),
    })
    .prefault({})
    .refine((a) => !a.enabled || a.audience !== undefined, {
      message: 'assertions.enabled needs assertions.audience (the upstream service)',
    }),
  shadow: z
    .strictObject({
      policies: z.string().min(1).optional(),
      sampleRate: z.number().min(0).max(1).default(1),
    })
    .prefault({}),
  tokens: z
    .strictObject({
      header: z.string().min(1).toLowerCase().default('authorization'),
      scheme: z.string().min(1).default('Bearer'),
      maxBytes: z
        .number()
        .int()
        .min(256)
        .max(1024 * 1024)
        .default(8192),
      clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
      // Where the last good remote JWKS of each issuer is persisted; bundle.cacheDir when unset.
      cacheDir: z.string().min(1).optional(),
      issuers: z.array(IssuerSchema).default([]),
    })
    .prefault({})
    .superRefine((t, ctx) => {
      t.issuers.forEach((a, i) => {
        for (let j = 0; j < i; j++) {
          const b = t.issuers[j]!;
          if (a.issuer === b.issuer)
            ctx.addIssue({
              code: 'custom',
              path: ['issuers', i, 'issuer'],
              message: `issuer ${JSON.stringify(a.issuer)} is configured twice`,
            });
          else if (principalsMayCollide(a.principal, b.principal)) {
            ctx.addIssue({
              code: 'custom',
              path: ['issuers', i, 'principal'],
              message: `issuers ${JSON.stringify(b.issuer)} and ${JSON.stringify(a.issuer)} could name the same principal: give each its own principal.type, or principal.idPrefix values neither of which starts the other`,
            });
          }
        }
      });
    }),
  cache: z
    .strictObject({
      tokens: z
        .strictObject({
          maxEntries: z.number().int().min(0).max(10_000_000).default(50_000),
          maxBytes: z
            .number()
            .int()
            .min(0)
            .max(4 * 1024 * 1024 * 1024)
            .default(16 * 1024 * 1024),
          negativeTtlMs: duration(0, 3_600_000).default(10_000),
        })
        .prefault({}),
      decisions: z
        .strictObject({
          maxEntries: z.number().int().min(0).max(10_000_000).default(50_000),
          maxBytes: z
            .number()
            .int()
            .min(0)
            .max(4 * 1024 * 1024 * 1024)
            .default(16 * 1024 * 1024),
        })
        .prefault({}),
    })
    .prefault({}),
  responses: z
    .strictObject({
      removeAuthorizationHeader: z.boolean().default(false),
      exposePolicyIds: z.boolean().default(true),
    })
    .prefault({}),
  audit: z
    .strictObject({
      destination: z.string().min(1).default('stdout'),
      hashIdentifiers: z.boolean().default(false),
      hashSaltFile: z.string().min(1).optional(),
      hashSaltEnv: z.string().min(1).optional(),
      bufferBytes: z
        .number()
        .int()
        .min(4096)
        .max(256 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      includeInputs: z.boolean().default(true),
      // Shipping to the control plane's POST /v1/decisions (docs/audit.md); off unless configured.
      ship: z
        .strictObject({
          url: z.url({ protocol: /^https?$/ }),
          tokenFile: z.string().min(1).optional(),
          tokenEnv: z.string().min(1).optional(),
          batchSize: z.number().int().min(1).max(5_000).default(500),
          flushIntervalMs: duration(10, 60_000).default(1_000),
          maxBufferEvents: z.number().int().min(1).max(10_000_000).default(50_000),
          requestTimeoutMs: duration(100, 120_000).default(10_000),
          minBackoffMs: duration(10, 600_000).default(500),
          maxBackoffMs: duration(100, 3_600_000).default(30_000),
          shutdownTimeoutMs: duration(0, 300_000).default(5_000),
        })
        .refine((s) => (s.tokenFile === undefined) !== (s.tokenEnv === undefined), {
          message: 'exactly one of tokenFile and tokenEnv is required: the control plane authenticates every batch',
        })
        .refine((s) => s.batchSize <= s.maxBufferEvents, { message: 'batchSize must not exceed maxBufferEvents' })
        .optional(),
    })
    .prefault({})
    .refine((a) => !a.hashIdentifiers || a.hashSaltFile !== undefined || a.hashSaltEnv !== undefined, {
      message: 'hashIdentifiers needs hashSaltFile or hashSaltEnv',
    }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  shutdown: z
    .strictObject({
      drainDelayMs: duration(0, 300_000).default(0),
      drainTimeoutMs: duration(0, 300_000).default(10_000),
    })
    .prefault({}),
});

export const ConfigSchema = ConfigObject.refine(
  (c) => c.bundle.url === undefined || c.policies.directory === undefined,
  {
    message: 'policies.directory and bundle.url are exclusive: a sidecar takes its policies from one source',
  },
);

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type IssuerConfig = z.output<typeof IssuerSchema>;
