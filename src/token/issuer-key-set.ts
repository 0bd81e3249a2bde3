import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  jwksCache,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError } from '../config/config-error.js';
import type { IssuerConfig } from '../config/config-schema.js';
import { isSmallOrderEd25519Key } from '../util/is-small-order-ed25519.js';

/** The key set could not be fetched and no usable copy is held: an infrastructure failure, not a bad token. */
export class KeySetUnavailableError extends Error {
  override readonly name = 'KeySetUnavailableError';
}

/** The key set's key for this token is one nobody should trust (see isSmallOrderEd25519). */
export class UnusableKeyError extends Error {
  override readonly name = 'UnusableKeyError';
}

export interface IssuerKeySet {
  readonly getKey: JWTVerifyGetKey;
  /** Changes whenever the keys change, so anything verified with the old keys can be dropped. */
  generation(): number;
  close(): void;
}

export interface KeySetDeps {
  readonly now: () => number;
  readonly onRefresh?: (issuer: string, result: 'ok' | 'error') => void;
}

export function createIssuerKeySet(issuer: IssuerConfig, deps: KeySetDeps): IssuerKeySet {
  const keySet = issuer.jwksFile !== undefined ? localKeySet(issuer.jwksFile) : remoteKeySet(issuer, new URL(issuer.jwksUrl!), deps);
  return { ...keySet, getKey: refusingUnusableKeys(keySet.getKey) };
}

// jose refuses RSA keys under 2048 bits itself; a small-order Ed25519 key it would use, and OpenSSL would
// then accept a trivial signature (R = identity, S = 0) for many messages. A placeholder `"x": "AAAA…"` is one.
function refusingUnusableKeys(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    const key = await getKey(header, token);
    if (isSmallOrderEd25519Key(key)) throw new UnusableKeyError(`key ${JSON.stringify(header.kid ?? null)} is a small-order Ed25519 point`);
    return key;
  };
}

function localKeySet(file: string): IssuerKeySet {
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`JWKS file ${file}: ${(err as Error).message}`]);
  }
  if (!isKeySet(jwks)) throw new ConfigError([`JWKS file ${file}: expected {"keys": [...]}`]);
  return { getKey: createLocalJWKSet(jwks), generation: () => 0, close() {} };
}

/**
 * jose's remote set, plus two things a sidecar needs: a background refresh so no request waits on a
 * periodic reload, and serving from the last good key set (for jwksStaleIfErrorMs) while the endpoint
 * fails, without every request retrying it. A kid jose has not seen still triggers jose's own reload,
 * rate-limited by jwksCooldownMs.
 */
function remoteKeySet(issuer: IssuerConfig, url: URL, deps: KeySetDeps): IssuerKeySet {
  const cache: ExportedJWKSCache = {} as ExportedJWKSCache;
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: issuer.jwksTimeoutMs,
    cooldownDuration: issuer.jwksCooldownMs,
    cacheMaxAge: issuer.jwksMaxAgeMs,
    [jwksCache]: cache,
  });
  let stale: { uat: number; getKey: JWTVerifyGetKey } | undefined;
  let retryAt = 0;
  const lastGood = () => {
    if (cache.uat === undefined || cache.jwks === undefined) return undefined;
    if (stale?.uat !== cache.uat) stale = { uat: cache.uat, getKey: createLocalJWKSet(cache.jwks) };
    return deps.now() - stale.uat <= issuer.jwksMaxAgeMs + issuer.jwksStaleIfErrorMs ? stale.getKey : undefined;
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (deps.now() < retryAt) {
      const held = lastGood();
      if (held !== undefined) return held(header, token);
      throw new KeySetUnavailableError(`key set of ${issuer.issuer} unavailable`);
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (!isFetchFailure(err)) throw err;
      deps.onRefresh?.(issuer.issuer, 'error');
      retryAt = deps.now() + Math.max(1_000, Math.min(issuer.jwksCooldownMs, 30_000));
      const held = lastGood();
      if (held !== undefined) return held(header, token);
      throw new KeySetUnavailableError(`key set of ${issuer.issuer} unavailable`, { cause: err });
    }
  };
  // Refresh ahead of cacheMaxAge so requests never wait for the periodic reload.
  const timer = setInterval(() => {
    remote.reload().then(
      () => deps.onRefresh?.(issuer.issuer, 'ok'),
      () => deps.onRefresh?.(issuer.issuer, 'error'),
    );
  }, Math.max(1_000, Math.floor(issuer.jwksMaxAgeMs * 0.8)));
  timer.unref();
  // jose swaps its key set on background refreshes and on unknown-kid reloads; cache.uat moves each time.
  let seenUat: number | undefined;
  let fingerprint = '';
  let generation = 0;
  const currentGeneration = () => {
    if (cache.uat !== seenUat && cache.jwks !== undefined) {
      seenUat = cache.uat;
      const next = JSON.stringify(cache.jwks);
      if (next !== fingerprint) {
        if (fingerprint !== '') generation++;
        fingerprint = next;
      }
    }
    return generation;
  };
  return { getKey, generation: currentGeneration, close: () => clearInterval(timer) };
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys);
}

/** Errors meaning "the endpoint did not give us a key set", as opposed to "the token is bad". */
function isFetchFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') return true;
  // fetch() rejects with a TypeError on connection failures; jose rejects non-JSON bodies with a SyntaxError.
  return err instanceof TypeError || err instanceof SyntaxError;
}
