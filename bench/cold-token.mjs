// Where a cold token's verification time goes (#15): authzd's own steps before the signature (strict
// decoding, the cache key, the key lookup), jose's jwtVerify (WebCrypto: an asynchronous hop to the thread
// pool) one at a time and 32 in flight, node:crypto.verify alone, and TokenVerifier end to end with the
// node:crypto signature path off and on. ES256 and RS256, distinct tokens every call, CPU per token
// (process.cpuUsage, so the thread pool's work counts). The cases run round-robin, three rounds; the median
// round is reported, with the ratio to TokenVerifier with jose only, measured in the same run.
//
//   npm run build && node bench/cold-token.mjs [--tokens N] [--write]
//
// --write replaces the cold-token section of docs/BENCHMARKS.md.
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { decodeTokenParts } from '../dist/token/decode-token-parts.js';
import { TokenVerifier } from '../dist/token/token-verifier.js';
import { describeMachine } from './lib/machine.mjs';
import { replaceSection } from './lib/report-markdown.mjs';

const { values } = parseArgs({
  options: { tokens: { type: 'string', default: '1500' }, write: { type: 'boolean', default: false } },
});
const N = Number(values.tokens);
const ROUNDS = 3;
const ISS = 'https://issuer.bench';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'authzd-cold-token-'));

async function setup(alg) {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg };
  const jwks = { keys: [jwk] };
  const jwksFile = path.join(dir, `${alg}.json`);
  writeFileSync(jwksFile, JSON.stringify(jwks));
  // Enough distinct tokens that no case of any round sees one twice.
  const tokens = await Promise.all(
    Array.from({ length: N * 10 * ROUNDS }, (_, i) =>
      new SignJWT({ tenant: 'acme', roles: ['teller'], jti: `j${i}` })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(ISS)
        .setAudience('bank-api')
        .setSubject(`u${i}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    ),
  );
  return { jwksFile, tokens, keyObject: createPublicKey({ key: jwk, format: 'jwk' }), keySet: createLocalJWKSet(jwks) };
}

const verifier = (s, alg, fastSignatures) => {
  const v = new TokenVerifier(
    {
      clockToleranceSeconds: 30,
      issuers: [{ issuer: ISS, audiences: ['bank-api'], algorithms: [alg], jwksFile: s.jwksFile }],
    },
    { now: Date.now, fastSignatures },
  );
  return async (tokens) => {
    for (const t of tokens) {
      const r = await v.verify(t);
      if (!r.ok) throw new Error(`unexpected ${r.reason}`);
    }
  };
};

function cases(s, alg) {
  const opts = { issuer: ISS, audience: 'bank-api', algorithms: [alg], requiredClaims: ['exp'] };
  const keyParams = alg.startsWith('ES') ? { key: s.keyObject, dsaEncoding: 'ieee-p1363' } : s.keyObject;
  return {
    'strict decoding (decodeTokenParts)': async (ts) => ts.forEach((t) => decodeTokenParts(t)),
    'cache key (sha256)': async (ts) => ts.forEach((t) => createHash('sha256').update(t).digest('base64url')),
    'key lookup (jose local JWKS)': async (ts) => {
      for (const t of ts) await s.keySet(decodeProtectedHeader(t), undefined);
    },
    'jose jwtVerify, one at a time': async (ts) => {
      for (const t of ts) await jwtVerify(t, s.keySet, opts);
    },
    'jose jwtVerify, 32 in flight': async (ts) => {
      for (let i = 0; i < ts.length; i += 32)
        await Promise.all(ts.slice(i, i + 32).map((t) => jwtVerify(t, s.keySet, opts)));
    },
    'node:crypto.verify alone (signature only, synchronous)': async (ts) => {
      for (const t of ts) {
        const dot = t.lastIndexOf('.');
        if (!nodeVerify('sha256', Buffer.from(t.slice(0, dot)), keyParams, Buffer.from(t.slice(dot + 1), 'base64url')))
          throw new Error('signature');
      }
    },
    'TokenVerifier (authzd, no cache), jose only': verifier(s, alg, false),
    'TokenVerifier (authzd, no cache), node:crypto signature': verifier(s, alg, true),
  };
}

const BASELINE = 'TokenVerifier (authzd, no cache), jose only';
const rows = [];
for (const alg of ['ES256', 'RS256']) {
  const s = await setup(alg);
  const all = cases(s, alg);
  let offset = 0;
  const take = (n) => s.tokens.slice(offset, (offset += n));
  const cpu = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(all)) {
      await fn(take(Math.min(200, N))); // warm-up
      const tokens = take(N);
      const start = process.cpuUsage();
      await fn(tokens);
      const used = process.cpuUsage(start);
      (cpu[name] ??= []).push((used.user + used.system) / N);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(cpu[BASELINE]);
  for (const [name, xs] of Object.entries(cpu))
    rows.push(
      `| ${alg} | ${name} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(' / ')} | ${(median(xs) / base).toFixed(2)} |`,
    );
}
rmSync(dir, { recursive: true, force: true });

const m = describeMachine();
const section = [
  '<!-- cold-token:begin -->',
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`node bench/cold-token.mjs --tokens ${N}\` on ${m.cpu}, ${m.cores} cores, Node ${process.versions.node}; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}.`,
  '',
  '| alg | step | CPU µs per token (median round) | rounds | ratio to TokenVerifier, jose only |',
  '| --- | --- | --- | --- | --- |',
  ...rows,
  '<!-- cold-token:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
if (values.write) {
  const file = path.join(ROOT, 'docs', 'BENCHMARKS.md');
  writeFileSync(file, replaceSection(readFileSync(file, 'utf8'), 'cold-token', section));
}
