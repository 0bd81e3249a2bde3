import { randomUUID } from 'node:crypto';

import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

import type { Config } from '../config/config-schema.js';
import type { Decision } from '../contract/decision.js';

type Algorithm = Config['assertions']['algorithm'];

interface Key {
  readonly kid: string;
  readonly privateKey: CryptoKey | Uint8Array;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
  /** After this the key is no longer published (it signed nothing still valid). */
  retireAt: number | undefined;
}

type CryptoKey = Parameters<SignJWT['sign']>[0];

/**
 * The keys that sign decision assertions: a fresh key pair at start and every `rotateMinutes`; a replaced
 * key stays published in the JWKS for one assertion lifetime plus a margin, so assertions it signed keep
 * verifying downstream. Private keys never leave the process (cluster workers receive them from the
 * primary over the IPC channel; see run-cluster.ts).
 */
export class AssertionKeyring {
  readonly #algorithm: Algorithm;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #keys: Key[] = [];

  constructor(config: Config['assertions'], now: () => number = Date.now) {
    this.#algorithm = config.algorithm;
    this.#ttlMs = config.ttlSeconds * 1000;
    this.#now = now;
  }

  /** Adds a new current key; the previous one is kept for verification until its assertions expire. */
  async rotate(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(this.#algorithm, { extractable: true });
    const kid = `authzd-${randomUUID().slice(0, 8)}`;
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.#algorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: this.#algorithm };
    this.#install({ kid, privateKey, publicJwk, privateJwk, retireAt: undefined });
  }

  /** The current and recently replaced keys, as their private JWKs (for cluster workers). */
  export(): JWK[] {
    return this.#keys.map((k) => k.privateJwk);
  }

  /** Replaces the keys with exported ones; the last is current. */
  async load(jwks: readonly JWK[]): Promise<void> {
    const keys: Key[] = [];
    for (const jwk of jwks) {
      const privateKey = (await importJWK(jwk, this.#algorithm)) as CryptoKey;
      const { d: _d, ...pub } = jwk;
      keys.push({ kid: jwk.kid!, privateKey, publicJwk: { ...pub, use: 'sig' }, privateJwk: jwk, retireAt: undefined });
    }
    this.#keys = keys;
  }

  jwks(): { keys: JWK[] } {
    const now = this.#now();
    this.#keys = this.#keys.filter((k) => k.retireAt === undefined || k.retireAt > now);
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }

  current(): Key | undefined {
    return this.#keys.at(-1);
  }

  #install(key: Key): void {
    const now = this.#now();
    for (const k of this.#keys) k.retireAt ??= now + this.#ttlMs + 60_000;
    this.#keys = [...this.#keys.filter((k) => k.retireAt! > now), key];
  }
}

/**
 * Mints the assertion an upstream receives on allow: a short-lived JWT naming the caller (sub), this
 * sidecar as the actor (RFC 8693 `act`), the upstream as audience, and the decision (id, policy version,
 * route), so a downstream service verifies one narrow token against /.well-known/jwks.json instead of
 * re-validating the user's.
 */
export function createAsserter(keyring: AssertionKeyring, config: Config['assertions'], now: () => number = Date.now) {
  return async (decision: Omit<Decision, 'assertion'>): Promise<string> => {
    const key = keyring.current();
    if (key === undefined) throw new Error('no assertion signing key');
    const iat = Math.floor(now() / 1000);
    const principal = decision.principal;
    return new SignJWT({
      act: { sub: config.actor ?? config.issuer },
      decision_id: decision.id,
      policy_version: decision.policyVersion,
      ...(decision.routeId !== undefined ? { route: decision.routeId } : {}),
      ...(principal !== undefined ? { principal: `${principal.type}::${JSON.stringify(principal.id)}` } : {}),
      ...(decision.tenant !== undefined ? { tenant: decision.tenant } : {}),
    })
      .setProtectedHeader({ alg: config.algorithm, kid: key.kid, typ: 'authzd-assertion+jwt' })
      .setIssuer(config.issuer)
      .setAudience(config.audience!)
      .setSubject(principal?.id ?? 'unknown')
      .setIssuedAt(iat)
      .setExpirationTime(iat + config.ttlSeconds)
      .setJti(decision.id)
      .sign(key.privateKey);
  };
}
