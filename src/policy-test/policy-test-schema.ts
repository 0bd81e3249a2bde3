// The shape of a policy test file (tests/*.yaml in a policy directory): a list of cases, each a principal,
// a request and the decision expected. docs/policy-tests.md documents every key; test/unit/policy-test/
// policy-tests-docs-sync.test.ts keeps that list and this schema in step.
import { isIP } from 'node:net';

import { z } from 'zod';

import { type ErrorReason, type Reason, REASONS } from '../contract/reasons.js';
import { DEVICE_TRUST } from '../contract/risk-class.js';

/** Reason codes a decision can carry: every code but the gRPC errors, which no test can expect. */
export type ExpectableReason = Exclude<Reason, ErrorReason>;
export const EXPECTABLE_REASONS = (Object.keys(REASONS) as Reason[]).filter((r) => REASONS[r].outcome !== 'error') as [
  ExpectableReason,
  ...ExpectableReason[],
];

/** Claims the runner sets on every token itself: its own issuer and audience, and a lifetime that is valid now. */
export const RUNNER_CLAIMS = ['iss', 'aud', 'exp', 'nbf'] as const;

const cedarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/, 'expected a Cedar type name');
const ip = z.string().refine((v) => isIP(v) !== 0, 'expected an IPv4 or IPv6 address');

const ClaimsSchema = z
  .object({ sub: z.string().min(1) })
  // Claims are an open map, as in a token: which ones matter is routes.yaml's business (principal.*).
  .catchall(z.json())
  .superRefine(
    (claims, ctx) => {
      if (typeof claims !== 'object' || claims === null) return;
      for (const reserved of RUNNER_CLAIMS) {
        if (Object.hasOwn(claims, reserved))
          ctx.addIssue({
            code: 'custom',
            path: [reserved],
            message: `"${reserved}" is set by the runner (its own issuer, audience and a valid lifetime)`,
          });
      }
    },
    // Also when sub is missing: one pass lists every problem of the claims.
    { when: () => true },
  );

const PeerSchema = z.strictObject({
  /** The calling workload's identity (its SPIFFE ID) as Envoy reports it from mTLS; absent: an unauthenticated peer. */
  source: z.string().min(1).optional(),
  destination: z.string().min(1).optional(),
});

const ContextSchema = z.strictObject({
  sourceIp: ip.optional(),
  destinationIp: ip.optional(),
  destinationPort: z.number().int().min(1).max(65_535).optional(),
  /** The request time Envoy reports: RFC 3339 with an offset, or Unix seconds. */
  time: z
    .union([
      z.iso.datetime({
        offset: true,
        error: 'expected an RFC 3339 date-time with an offset (2026-01-15T09:30:00Z) or Unix seconds',
      }),
      z.number().int().min(1),
    ])
    .optional(),
  host: z.string().min(1).optional(),
  extensions: z.record(z.string().min(1), z.string()).optional(),
  /** Risk signals as a trusted upstream filter reports them in Envoy metadata (context.risk). */
  risk: z
    .strictObject({
      score: z.number().int().min(0).max(10_000).optional(),
      deviceTrust: z.string().regex(DEVICE_TRUST).optional(),
    })
    .optional(),
});

const ExpectSchema = z
  .strictObject({
    decision: z.enum(['allow', 'deny']),
    reason: z.enum(EXPECTABLE_REASONS).optional(),
    policies: z.array(z.string().min(1)).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.reason === undefined) return;
    if ((e.decision === 'allow') !== (e.reason === 'policy_allowed')) {
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: `reason ${e.reason} never comes with decision ${e.decision}`,
      });
    }
  });

export const PolicyTestCaseSchema = z
  .strictObject({
    name: z.string().min(1),
    claims: ClaimsSchema.optional(),
    peer: PeerSchema.optional(),
    method: z
      .string()
      .regex(/^[A-Z]+$/, 'expected an upper-case HTTP method')
      .optional(),
    path: z.string().min(1).optional(),
    action: z.string().min(1).optional(),
    resource: z.strictObject({ type: cedarName, id: z.string() }).optional(),
    context: ContextSchema.optional(),
    expect: ExpectSchema,
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: path === '' ? [] : [path], message });
    const http = c.method !== undefined || c.path !== undefined;
    const direct = c.action !== undefined || c.resource !== undefined;
    if (http && direct) issue('action', 'a request is method + path or action + resource, not both');
    else if (http) {
      if (c.method === undefined) issue('method', 'required with path');
      if (c.path === undefined) issue('path', 'required with method');
    } else if (direct) {
      if (c.action === undefined) issue('action', 'required with resource');
      if (c.resource === undefined) issue('resource', 'required with action');
      if (c.claims === undefined)
        issue('claims', 'required with action + resource: the principal comes from the claims');
    } else {
      // No request: a connection checked without HTTP attributes (Envoy's network filter).
      if (c.peer === undefined)
        issue('', 'a case needs a request (method + path, or action + resource), or peer alone for a connection');
      else if (c.claims !== undefined)
        issue('claims', 'a connection without HTTP attributes carries no token; add method + path for an HTTP request');
    }
  });

export const PolicyTestFileSchema = z
  .array(PolicyTestCaseSchema)
  .min(1, 'a test file lists at least one case')
  .superRefine((cases, ctx) => {
    const first = new Map<string, number>();
    cases.forEach((c, i) => {
      const earlier = first.get(c.name);
      if (earlier !== undefined)
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate case name (also case [${earlier}])` });
      else first.set(c.name, i);
    });
  });

export type PolicyTestCase = z.output<typeof PolicyTestCaseSchema>;
export type Expectation = PolicyTestCase['expect'];
