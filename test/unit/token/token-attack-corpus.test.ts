// Every case of the token attack corpus (test/helpers/token-attack-corpus.ts) through what the sidecar runs
// for a bearer header: extractBearer, then TokenVerifier with the verified-token cache on, against a local and
// a remote key set. Each must give its exact reason, the same again when answered from the cache, and no
// token may make authzd fetch anything but its configured JWKS URL. test/unit/token/token-verifier.test.ts
// keeps the focused tests of single behaviours; test/integration/grpc-token-attacks.test.ts sends a sample
// over gRPC.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../../src/config/config-schema.js';
import { REASON_CODES } from '../../../src/contract/reasons.js';
import { extractBearer } from '../../../src/token/extract-bearer.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { buildTokenAttackCorpus, type Expected, type TokenAttackCorpus } from '../../helpers/token-attack-corpus.js';

interface Hit {
  readonly server: 'attacker' | 'jwks';
  readonly url: string;
}

const hits: Hit[] = [];
const listen = async (server: http.Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

// Built at collection time so that every case is its own test.
const attacker = http.createServer((req, res) => {
  hits.push({ server: 'attacker', url: req.url ?? '' });
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
});
const corpus: TokenAttackCorpus = await buildTokenAttackCorpus({ attackerUrl: await listen(attacker) });
const jwks = readFileSync(corpus.jwksFile, 'utf8');
const jwksServer = http.createServer((req, res) => {
  hits.push({ server: 'jwks', url: req.url ?? '' });
  res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
});
const jwksUrl = `${await listen(jwksServer)}/jwks.json`;

const tokens = (issuer: Record<string, unknown>) => ConfigSchema.parse({ tokens: { issuers: [issuer] } }).tokens;
const { jwksFile: _file, ...remoteIssuer } = corpus.issuer;
const cache = { maxEntries: 10_000, maxBytes: 64 << 20, negativeTtlMs: 60_000 };
let local: TokenVerifier;
let remote: TokenVerifier;

beforeAll(() => {
  local = new TokenVerifier(tokens(corpus.issuer), { now: Date.now, cache });
  remote = new TokenVerifier(tokens({ ...remoteIssuer, jwksUrl, jwksCooldownMs: 60_000 }), { now: Date.now, cache });
});

afterAll(async () => {
  local?.close();
  remote?.close();
  await Promise.all([attacker, jwksServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const OPTIONS = { scheme: 'Bearer', maxBytes: 8192 };

/** What authzd concludes about one credentials header, as the pipeline would (extractBearer, then verify). */
async function judge(
  verifier: TokenVerifier,
  authorization: string,
): Promise<Expected | 'jwks_unavailable' | 'token_missing'> {
  const bearer = extractBearer(authorization, OPTIONS);
  if ('reason' in bearer) return bearer.reason;
  const result = await verifier.verify(bearer.token);
  return result.ok ? 'ok' : result.reason;
}

describe('token attack corpus', () => {
  it('is large and covers every reason a presented token can earn, with valid controls', async () => {
    // Built in beforeAll; the per-case tests below are generated from the same list.
    const reasons = new Set(corpus.cases.map((c) => c.expect));
    const tokenReasons = REASON_CODES.filter(
      (r) => r.startsWith('token_') && r !== 'token_missing' && r !== 'token_revoked',
    );
    for (const reason of tokenReasons) expect(reasons, reason).toContain(reason);
    expect(corpus.cases.filter((c) => c.expect === 'ok').length).toBeGreaterThanOrEqual(10);
    expect(corpus.cases.length).toBeGreaterThan(200);
    const names = corpus.cases.map((c) => `${c.family}: ${c.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('answers repeated attack tokens from the negative cache (a hash, not a verification)', async () => {
    const forged = corpus.cases.filter((c) => c.expect === 'token_signature_invalid');
    for (const c of forged) await judge(local, c.authorization);
    for (const c of forged) {
      const bearer = extractBearer(c.authorization, OPTIONS);
      if ('reason' in bearer) throw new Error(`${c.name}: ${bearer.reason}`);
      // Synchronous: served from the cache without starting a verification.
      expect(local.verify(bearer.token)).toEqual({ ok: false, reason: 'token_signature_invalid' });
    }
  });

  it('never fetches a jku, x5u or any URL a token names: only the configured JWKS URL is ever asked', async () => {
    const named = corpus.cases.filter((c) => c.family === 'key-url' || c.family === 'embedded-key');
    expect(named.length).toBeGreaterThanOrEqual(8);
    for (const c of named) {
      // Fresh verifiers with no cache and no cooldown, so every case reaches key selection (and reloads).
      for (const verifier of [
        new TokenVerifier(tokens(corpus.issuer), { now: Date.now }),
        new TokenVerifier(tokens({ ...remoteIssuer, jwksUrl, jwksCooldownMs: 0 }), { now: Date.now }),
      ]) {
        expect(await judge(verifier, c.authorization)).toBe(c.expect);
        verifier.close();
      }
    }
    expect(hits.filter((h) => h.server === 'attacker')).toEqual([]);
    expect(hits.filter((h) => h.server === 'jwks').length).toBeGreaterThan(0);
    expect(new Set(hits.map((h) => h.url))).toEqual(new Set(['/jwks.json']));
  });
});

describe.each(['local', 'remote'] as const)('every case with a %s key set', (which) => {
  it.each(corpus.cases.map((c) => [`${c.family}: ${c.name}`, c] as const))('%s', async (_name, c) => {
    const verifier = which === 'local' ? local : remote;
    expect(await judge(verifier, c.authorization)).toBe(c.expect);
    // Again, now answered from the verified-token cache (positive or negative): the same verdict.
    expect(await judge(verifier, c.authorization)).toBe(c.expect);
  });
});
