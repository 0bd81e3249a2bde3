// `authzd control-plane`'s configuration, in the sidecar's idiom (config/config-schema.ts): one schema with
// every key, its type and default; a YAML file (--config) and flags feed it; unknown keys anywhere are an
// error named by their path. docs/control-plane.md lists the same keys (test/unit/control-plane/
// control-plane-docs-sync.test.ts keeps them in step).
import { z } from 'zod';

import { DEFAULT_SCOPE, KID_PATTERN, SCOPE_PATTERN } from '../bundle/bundle-format.js';
import { TracingConfigSchema } from '../config/tracing-config-schema.js';

const ADDRESS = /^(unix:\/\/\/.+|[^\s]*:\d{1,5})$/;
const address = z
  .string()
  .refine((a) => ADDRESS.test(a) && (a.startsWith('unix://') || Number(a.slice(a.lastIndexOf(':') + 1)) <= 65535), {
    message: 'expected HOST:PORT (port 0 picks a free one) or unix:///path',
  });
const path = z.string().min(1, { message: 'expected a path' });

export const DEFAULT_BUNDLE_NAME = 'default';
export const DEFAULT_HISTORY = 50;
export const DEFAULT_DECISION_RETENTION_DAYS = 30;
export const DEFAULT_STORE_POOL_SIZE = 10;

export const ControlPlaneConfigSchema = z
  .strictObject({
    policies: z.strictObject({ directory: path }),
    signing: z.strictObject({
      keyFile: path,
      kid: z.string().regex(KID_PATTERN, { message: '1-256 printable ASCII characters without spaces' }),
    }),
    listen: z.strictObject({
      address,
      /** Publishing and revoking are served here and refused on `address`. */
      adminAddress: address.optional(),
    }),
    data: z
      .strictObject({
        /** The directory store's folder; required with `store.kind: directory` (the default). */
        directory: path.optional(),
        history: z
          .number({ message: 'a whole number from 1 to 100000' })
          .int({ message: 'a whole number from 1 to 100000' })
          .min(1, { message: 'a whole number from 1 to 100000' })
          .max(100_000, { message: 'a whole number from 1 to 100000' })
          .default(DEFAULT_HISTORY),
        decisionRetentionDays: z
          .number({ message: 'a whole number of days from 1 to 3650' })
          .int({ message: 'a whole number of days from 1 to 3650' })
          .min(1, { message: 'a whole number of days from 1 to 3650' })
          .max(3650, { message: 'a whole number of days from 1 to 3650' })
          .default(DEFAULT_DECISION_RETENTION_DAYS),
      })
      .prefault({}),
    store: z
      .strictObject({
        kind: z.enum(['directory', 'postgres'], { message: 'expected directory or postgres' }).default('directory'),
        /** postgres://USER@HOST[:PORT]/DATABASE without a password (`--store postgres://…` sets it). */
        url: z.string().min(1, { message: 'expected a postgres:// URL' }).optional(),
        /** A file holding the whole DSN, password included; else env AUTHZD_CP_STORE_DSN. */
        dsnFile: path.optional(),
        poolSize: z
          .number({ message: 'a whole number from 1 to 100' })
          .int({ message: 'a whole number from 1 to 100' })
          .min(1, { message: 'a whole number from 1 to 100' })
          .max(100, { message: 'a whole number from 1 to 100' })
          .default(DEFAULT_STORE_POOL_SIZE),
        tlsMode: z
          .enum(['disable', 'require', 'verify-full'], { message: 'expected disable, require or verify-full' })
          .optional(),
        tlsCaFile: path.optional(),
        tlsCertFile: path.optional(),
        tlsKeyFile: path.optional(),
      })
      .prefault({}),
    bundle: z
      .strictObject({
        // A bundle name becomes a directory name and a URL segment.
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
            message: 'letters, digits, ".", "_" and "-", at most 128, not starting with a punctuation mark',
          })
          .default(DEFAULT_BUNDLE_NAME),
        scope: z
          .string()
          .regex(SCOPE_PATTERN, { message: '1-256 printable ASCII characters without spaces' })
          .default(DEFAULT_SCOPE),
        minRevision: z
          .number({ message: 'a positive whole number (at most 2^53 - 1)' })
          .int({ message: 'a positive whole number (at most 2^53 - 1)' })
          .min(1, { message: 'a positive whole number (at most 2^53 - 1)' })
          .max(Number.MAX_SAFE_INTEGER, { message: 'a positive whole number (at most 2^53 - 1)' })
          .optional(),
      })
      .prefault({}),
    tokens: z
      .strictObject({
        /** Bearer token for publishing and revoking; else env AUTHZD_CP_ADMIN_TOKEN. */
        adminFile: path.optional(),
        /** Bearer token for reads; else env AUTHZD_CP_READ_TOKEN; without one, reads are open. */
        readFile: path.optional(),
        /** Bearer token for POST /v1/decisions; else env AUTHZD_CP_INGEST_TOKEN. */
        ingestFile: path.optional(),
      })
      .prefault({}),
    // OpenTelemetry traces of publications, bundle serving and revocations (docs/observability.md), as the sidecar's.
    tracing: TracingConfigSchema,
  })
  .superRefine((c, ctx) => {
    if (c.store.kind === 'directory' && c.data.directory === undefined)
      ctx.addIssue({ code: 'custom', path: ['data', 'directory'], message: 'required with the directory store' });
    if (c.store.kind === 'directory') {
      for (const key of ['url', 'dsnFile', 'tlsMode', 'tlsCaFile', 'tlsCertFile', 'tlsKeyFile'] as const) {
        if (c.store[key] !== undefined)
          ctx.addIssue({ code: 'custom', path: ['store', key], message: 'only with store.kind: postgres' });
      }
    }
    if (c.store.url !== undefined && c.store.dsnFile !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['store', 'dsnFile'],
        message: 'give store.url or store.dsnFile, not both',
      });
    if ((c.store.tlsCertFile === undefined) !== (c.store.tlsKeyFile === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['store', c.store.tlsCertFile === undefined ? 'tlsCertFile' : 'tlsKeyFile'],
        message: 'a client certificate needs both store.tlsCertFile and store.tlsKeyFile',
      });
    const { address: main, adminAddress } = c.listen;
    if (adminAddress !== undefined && adminAddress === main && !/:0$/.test(main)) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'adminAddress'],
        message: 'the same as listen.address; give the admin listener an address of its own',
      });
    }
  });

export type ControlPlaneConfig = z.output<typeof ControlPlaneConfigSchema>;

/** Flags and the configuration keys they set (a flag wins over the file); `number` flags are parsed as integers. */
export const CONTROL_PLANE_FLAG_KEYS = {
  policies: { key: ['policies', 'directory'] },
  'signing-key': { key: ['signing', 'keyFile'] },
  kid: { key: ['signing', 'kid'] },
  addr: { key: ['listen', 'address'] },
  'admin-addr': { key: ['listen', 'adminAddress'] },
  data: { key: ['data', 'directory'] },
  history: { key: ['data', 'history'], number: true },
  'decision-retention-days': { key: ['data', 'decisionRetentionDays'], number: true },
  store: { key: ['store', 'kind'] },
  'store-dsn-file': { key: ['store', 'dsnFile'] },
  'store-pool-size': { key: ['store', 'poolSize'], number: true },
  'store-tls': { key: ['store', 'tlsMode'] },
  'store-tls-ca': { key: ['store', 'tlsCaFile'] },
  'store-tls-cert': { key: ['store', 'tlsCertFile'] },
  'store-tls-key': { key: ['store', 'tlsKeyFile'] },
  'bundle-name': { key: ['bundle', 'name'] },
  scope: { key: ['bundle', 'scope'] },
  'min-revision': { key: ['bundle', 'minRevision'], number: true },
  'admin-token-file': { key: ['tokens', 'adminFile'] },
  'read-token-file': { key: ['tokens', 'readFile'] },
  'ingest-token-file': { key: ['tokens', 'ingestFile'] },
} as const satisfies Record<string, { key: readonly [string, string]; number?: boolean }>;
