// A sample of the token attack corpus (test/helpers/token-attack-corpus.ts) sent over gRPC with Envoy's own
// protos to a running authzd: what Envoy relays must be a 401 with RFC 6750's invalid_token challenge and the
// exact reason in the body and the audit event, while the valid controls are allowed; no token, signature or
// kid ever reaches the audit or diagnostic log; and no URL a token names is fetched. The whole corpus runs
// against the verifier in test/unit/token/token-attack-corpus.test.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { type AttackCase, buildTokenAttackCorpus, type TokenAttackCorpus } from '../helpers/token-attack-corpus.js';

const attackerHits: string[] = [];
const attacker = http.createServer((req, res) => {
  attackerHits.push(req.url ?? '');
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
});
await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
const corpus: TokenAttackCorpus = await buildTokenAttackCorpus({
  attackerUrl: `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`,
});

/** Up to three cases per family (first, middle, last), every control, and every key-URL case. */
function sample(cases: readonly AttackCase[]): AttackCase[] {
  const byFamily = new Map<string, AttackCase[]>();
  for (const c of cases) byFamily.set(c.family, [...(byFamily.get(c.family) ?? []), c]);
  const picked = new Set<AttackCase>();
  for (const [family, of] of byFamily) {
    if (family === 'control' || family === 'key-url') of.forEach((c) => picked.add(c));
    else [of[0], of[Math.floor(of.length / 2)], of.at(-1)!].forEach((c) => picked.add(c));
  }
  // Over 64 KiB of headers the request limit answers first (request_too_large): covered below.
  return [...picked].filter((c) => c.authorization.length < 60_000);
}

let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
beforeAll(async () => {
  sidecar = await startTestAuthzd(undefined, { tokens: { issuers: [corpus.issuer] } });
});
afterAll(async () => {
  await sidecar?.stop();
  await new Promise<void>((r) => attacker.close(() => r()));
});

const header = (list: any[] | undefined, name: string) => list?.find((h) => h.header.key === name)?.header.value;

async function check(authorization: string) {
  const before = sidecar.auditEvents.length;
  const response = await sidecar.client.check(
    httpCheckRequest({ path: '/accounts/acc-1001', headers: { authorization } }),
  );
  for (let i = 0; i < 100 && sidecar.auditEvents.length === before; i++) await new Promise((r) => setTimeout(r, 5));
  return { response, audit: sidecar.auditEvents.at(-1)! };
}

describe('token attacks over gRPC', () => {
  const picked = sample(corpus.cases);

  it('samples every family', () => {
    expect(new Set(picked.map((c) => c.family))).toEqual(new Set(corpus.cases.map((c) => c.family)));
    expect(picked.length).toBeGreaterThan(40);
  });

  it.each(picked.map((c) => [`${c.family}: ${c.name} -> ${c.expect}`, c] as const))('%s', async (_name, c) => {
    const { response, audit } = await check(c.authorization);
    if (c.expect === 'ok') {
      expect(response.http_response).toBe('ok_response');
      expect(audit).toMatchObject({ decision: 'allow', reason: 'policy_allowed' });
      return;
    }
    expect(response.status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(response.denied_response.status.code).toBe('Unauthorized');
    expect(header(response.denied_response.headers, 'www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(response.denied_response.body)).toMatchObject({ error: 'unauthorized', reason: c.expect });
    expect(audit).toMatchObject({ decision: 'deny', reason: c.expect, source: 'authentication' });
  });

  it('a credentials header past limits.maxHeaderBytes is refused as a request before the token is read', async () => {
    const huge = corpus.cases.find((c) => c.authorization.length > 1 << 19)!;
    const { response, audit } = await check(huge.authorization);
    expect(response.status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(JSON.parse(response.denied_response.body)).toMatchObject({
      error: 'bad_request',
      reason: 'request_too_large',
    });
    expect(audit).toMatchObject({ decision: 'deny', reason: 'request_too_large', source: 'request' });
  });

  it('never logs a token, a signature or an attacker-chosen kid, and fetches nothing a token names', async () => {
    const logged = JSON.stringify(sidecar.auditEvents) + JSON.stringify(sidecar.logLines);
    for (const c of picked) {
      const token = c.authorization.replace(/^bearer\s+/i, '').trim();
      const signature = token.split('.')[2];
      if (signature !== undefined && signature.length >= 16) expect(logged).not.toContain(signature);
      if (token.length >= 16) expect(logged).not.toContain(token.slice(0, 64));
    }
    for (const kid of ['../../dev/null', "' OR 1=1 --", 'attacker-1']) expect(logged).not.toContain(kid);
    expect(sidecar.auditEvents.length).toBeGreaterThanOrEqual(picked.length);
    expect(attackerHits).toEqual([]);
  });

  it('counts the rejections by reason in authzd_token_validation_failures_total', async () => {
    const text = await sidecar.metricsText();
    for (const reason of new Set(picked.filter((c) => c.expect !== 'ok').map((c) => c.expect))) {
      expect(text).toMatch(new RegExp(`authzd_token_validation_failures_total\\{reason="${reason}"\\} [1-9]`));
    }
  });
});
