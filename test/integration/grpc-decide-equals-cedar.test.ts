// The property of test/unit/check/decide-equals-cedar.property.test.ts through the wire, on a smaller sample:
// a real authzd server per generated policy set, Check calls encoded with Envoy's own protos, and each answer
// (allow/deny, reason, determining and erroring policies, from the response and the audit event) compared
// with cedar-wasm's isAuthorized over the whole policy set and the whole entity store.
// AUTHZD_FUZZ_RUNS / 5 generated sets (default 12); AUTHZD_FUZZ_SEED fixes the seed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evaluationFromAnswer } from '../../src/decide/evaluate-call.js';
import { compilePolicyModel, PolicyModelError } from '../../src/policy/compile-policy-model.js';
import { universeArb } from '../helpers/cedar-universe.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { wholeStoreAnswer } from '../helpers/whole-store-answer.js';

const RUNS = Math.max(12, Math.floor(Number(process.env.AUTHZD_FUZZ_RUNS ?? 0) / 5));
const SEED = process.env.AUTHZD_FUZZ_SEED !== undefined ? Number(process.env.AUTHZD_FUZZ_SEED) : undefined;

let issuer: TestIssuer;
let dir: string;
const seen = { sets: 0, requests: 0, allows: 0 };

beforeAll(async () => {
  issuer = await createTestIssuer();
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-grpc-diff-'));
});

afterAll(() => {
  console.log(`gRPC decide = Cedar: ${JSON.stringify(seen)}`);
  rmSync(dir, { recursive: true, force: true });
});

describe('over gRPC with Envoy protos, authzd answers as Cedar over the whole store', () => {
  it('on generated policy sets and requests', async () => {
    await fc.assert(
      fc.asyncProperty(universeArb, async (u) => {
        let model;
        try {
          model = compilePolicyModel(u.files);
        } catch (err) {
          if (u.withSchema && err instanceof PolicyModelError) return;
          throw err;
        }
        const policies = mkdtempSync(path.join(dir, 'set-'));
        for (const [name, text] of u.files) writeFileSync(path.join(policies, name), text);
        const authzd = await startTestAuthzd(issuer, { policies: { directory: policies, onError: u.onError } });
        try {
          seen.sets++;
          for (const r of u.requests) {
            const token = await issuer.sign({ ...r.claims, tenant: undefined });
            const response = await authzd.client.check(
              httpCheckRequest({ method: r.method, path: `/docs/${r.doc}`, token }),
            );
            const event = authzd.auditEvents.at(-1)!;
            expect(event.input, 'the audit event carries the Cedar request').toBeDefined();
            const input = {
              principal: event.input.principal.uid,
              action: event.input.action,
              resource: event.input.resource,
              context: event.input.context,
              principalEntity: event.input.principal,
            };
            const resourceUnknown =
              model.entities.holdsType(input.resource.type) && model.entities.get(input.resource) === undefined;
            const expected = evaluationFromAnswer(wholeStoreAnswer(model, input), u.onError, resourceUnknown);
            const meta = response.dynamic_metadata.fields;
            const context = JSON.stringify({ policies: u.files.get('policies.cedar'), request: r });
            expect(response.http_response === 'ok_response', context).toBe(expected.allowed);
            expect(meta.reason.stringValue, context).toBe(expected.reason);
            expect([...event.policies].sort(), context).toEqual([...expected.policies].sort());
            expect([...(event.errors ?? [])].sort(), context).toEqual([...expected.errors].sort());
            expect((meta.policies?.stringValue ?? '').split(',').filter(Boolean).sort()).toEqual(
              [...expected.policies].sort(),
            );
            seen.requests++;
            if (expected.allowed) seen.allows++;
          }
        } finally {
          await authzd.stop();
        }
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
    );
    expect(seen.requests).toBeGreaterThan(RUNS / 2);
    expect(seen.allows).toBeGreaterThan(0);
  }, 300_000);
});
