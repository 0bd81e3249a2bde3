import { readFileSync } from 'node:fs';

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  jwksCache,
  type JWTVerifyGetKey,
} from 'jose';

import { ConfigError } from '../config/config-error.js';
import type { IssuerConfig } from '../config/config-schema.js';
import type { Logger } from '../telemetry/create-logger.js';
import { createThrottle } from '../telemetry/create-throttle.js';
import { isSmallOrderEd25519Key } from '../util/is-small-order-ed25519.js';
import { parseJson } from '../util/parse-json.js';
import { keySetProblems } from './key-set-problems.js';
import { persistedKeySetFile, readPersistedKeySet, writePersistedKeySet } from './persisted-key-set.js';

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
  /** Why no token of this issuer can be verified now (no usable key set), or undefined when one can. */
  problem(): string | undefined;
  /** Fetches a remote key set now (at start-up, so readiness need not wait for traffic); no-op for a file. */
  refresh(): Promise<void>;
  close(): void;
}

/** What became of one fetch of a remote JWKS: `refused` is a JWKS that arrived but is not usable. */
export type KeySetRefreshResult = 'ok' | 'error' | 'refused';

export interface KeySetDeps {
  readonly now: () => number;
  readonly onRefresh?: (issuer: string, result: KeySetRefreshResult) => void;
  readonly logger?: Logger;
  /** Where the last good copy of each remote key set is kept (tokens.cacheDir); none when undefined. */
  readonly cacheDir?: string | undefined;
  readonly fetch?: typeof fetch;
}

export function createIssuerKeySet(issuer: IssuerConfig, deps: KeySetDeps): IssuerKeySet {
  const keySet =
    issuer.jwksFile !== undefined ? localKeySet(issuer.jwksFile) : remoteKeySet(issuer, new URL(issuer.jwksUrl!), deps);
  return { ...keySet, getKey: refusingUnusableKeys(keySet.getKey) };
}

// jose refuses RSA keys under 2048 bits itself; a small-order Ed25519 key it would use, and OpenSSL would
// then accept a trivial signature (R = identity, S = 0) for many messages. A placeholder `"x": "AAAA…"` is one.
function refusingUnusableKeys(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    const key = await getKey(header, token);
    if (isSmallOrderEd25519Key(key))
      throw new UnusableKeyError(`key ${JSON.stringify(header.kid ?? null)} is a small-order Ed25519 point`);
    return key;
  };
}

function localKeySet(file: string): IssuerKeySet {
  let jwks: unknown;
  try {
    jwks = parseJson(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`JWKS file ${file}: ${(err as Error).message}`]);
  }
  const problems = keySetProblems(jwks);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `JWKS file ${file}: ${p}`));
  return {
    getKey: createLocalJWKSet(jwks as JSONWebKeySet),
    generation: () => 0,
    problem: () => undefined,
    refresh: async () => {},
    close() {},
  };
}

/** A JWKS endpoint answered with something that is not a usable public key set; the held set stays. */
export class KeySetRefusedError extends Error {
  override readonly name = 'KeySetRefusedError';
}

/**
 * jose's remote set, plus what a sidecar needs around it:
 * - every fetched JWKS is checked (keySetProblems) before jose may swap it in: an empty set or one with
 *   private key members is refused, logged and counted, and the last good set stays;
 * - a background refresh ahead of jwksMaxAgeMs so no request waits on a periodic reload, and, while the
 *   endpoint fails, retries every min(jwksCooldownMs, 30 s) (at least 1 s) without traffic to prompt them,
 *   since a sidecar without keys is not ready and gets none;
 * - serving from the last good key set (for jwksStaleIfErrorMs past its max age) while the endpoint fails,
 *   without every request retrying it;
 * - the last good set persisted in the cache directory and taken up at start, within the same age bound.
 * A kid jose has not seen still triggers jose's own reload, rate-limited by jwksCooldownMs.
 */
function remoteKeySet(issuer: IssuerConfig, url: URL, deps: KeySetDeps): IssuerKeySet {
  // Never log credentials a URL might carry.
  const shown = `${url.origin}${url.pathname}`;
  const maxUsableMs = issuer.jwksMaxAgeMs + issuer.jwksStaleIfErrorMs;
  const holdOffMs = Math.max(1_000, Math.min(issuer.jwksCooldownMs, 30_000));
  const log = deps.logger?.child({ issuer: issuer.issuer, url: shown });
  const cacheFile = deps.cacheDir !== undefined ? persistedKeySetFile(deps.cacheDir, issuer.issuer) : undefined;
  const cache: ExportedJWKSCache = {} as ExportedJWKSCache;
  if (cacheFile !== undefined) {
    const held = readPersistedKeySet(cacheFile, issuer.issuer, url.href, deps.now());
    if (held.kind === 'refused')
      log?.warn({ file: cacheFile, detail: held.detail }, 'persisted JWKS refused; waiting for the endpoint');
    else if (held.kind === 'loaded' && deps.now() - held.keySet.fetchedAt > maxUsableMs) {
      log?.info(
        { file: cacheFile, fetchedAt: new Date(held.keySet.fetchedAt).toISOString() },
        'persisted JWKS older than jwksMaxAgeMs + jwksStaleIfErrorMs; not used',
      );
    } else if (held.kind === 'loaded') {
      cache.uat = held.keySet.fetchedAt;
      cache.jwks = held.keySet.jwks;
      log?.info(
        { file: cacheFile, fetchedAt: new Date(held.keySet.fetchedAt).toISOString() },
        'JWKS taken from the persisted last good copy',
      );
    }
  }
  const persist = (jwks: JSONWebKeySet, fetchedAt: number) => {
    if (cacheFile === undefined) return;
    writePersistedKeySet(cacheFile, issuer.issuer, url.href, { jwks, fetchedAt }).catch((err: unknown) =>
      log?.warn({ file: cacheFile, err: (err as Error).message }, 'could not persist the JWKS; verification goes on'),
    );
  };
  // Every fetch goes through here: what jose receives has passed keySetProblems.
  const checkedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await (deps.fetch ?? fetch)(input, init);
    if (response.status !== 200) return response;
    const text = await response.text();
    let json: unknown;
    try {
      json = parseJson(text);
    } catch {
      // jose reports it as not JSON.
      return new Response(text, { status: 200 });
    }
    const problems = keySetProblems(json);
    if (problems.length > 0) throw new KeySetRefusedError(`the JWKS is not usable: ${problems.join('; ')}`);
    persist(json as JSONWebKeySet, Date.now());
    return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: issuer.jwksTimeoutMs,
    cooldownDuration: issuer.jwksCooldownMs,
    cacheMaxAge: issuer.jwksMaxAgeMs,
    [jwksCache]: cache,
    [customFetch]: checkedFetch,
  });
  let stale: { uat: number; getKey: JWTVerifyGetKey } | undefined;
  let retryAt = 0;
  let lastFailure: string | undefined;
  const failureLogs = createThrottle(60_000, deps.now);
  const lastGood = () => {
    if (cache.uat === undefined || cache.jwks === undefined) return undefined;
    if (stale?.uat !== cache.uat) stale = { uat: cache.uat, getKey: createLocalJWKSet(cache.jwks) };
    return deps.now() - stale.uat <= maxUsableMs ? stale.getKey : undefined;
  };
  const failed = (err: unknown) => {
    const refused = err instanceof KeySetRefusedError;
    deps.onRefresh?.(issuer.issuer, refused ? 'refused' : 'error');
    lastFailure = describeFailure(err, issuer.jwksTimeoutMs);
    retryAt = deps.now() + holdOffMs;
    // Refusals are configuration mistakes at the provider: always worth a line. Fetch failures repeat.
    if (refused || failureLogs('fetch')) {
      const held = lastGood() !== undefined;
      log?.error(
        {
          cause: lastFailure,
          heldKeySet: held,
          ...(cache.uat !== undefined ? { heldSince: new Date(cache.uat).toISOString() } : {}),
        },
        refused
          ? `JWKS refused; ${held ? 'the last good key set stays in use' : 'no usable key set: tokens of this issuer fail with jwks_unavailable'}`
          : `JWKS fetch failed; ${held ? 'the last good key set stays in use' : 'no usable key set: tokens of this issuer fail with jwks_unavailable'}`,
      );
    }
  };
  const unavailable = (cause?: unknown) =>
    new KeySetUnavailableError(
      `key set of ${issuer.issuer} (${shown}) unavailable: ${lastFailure ?? 'not fetched yet'}`,
      cause === undefined ? undefined : { cause },
    );
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (deps.now() < retryAt) {
      const held = lastGood();
      if (held !== undefined) return held(header, token);
      throw unavailable();
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (!isFetchFailure(err)) throw err;
      failed(err);
      const held = lastGood();
      if (held !== undefined) return held(header, token);
      throw unavailable(err);
    }
  };
  // One timer: a refresh ahead of max age while fetches succeed, a retry after the hold-off when they fail.
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(() => void refresh(), ms);
    timer.unref();
  };
  const refresh = async () => {
    try {
      await remote.reload();
      deps.onRefresh?.(issuer.issuer, 'ok');
      if (lastFailure !== undefined) log?.info('JWKS fetched again');
      lastFailure = undefined;
      schedule(Math.max(1_000, Math.floor(issuer.jwksMaxAgeMs * 0.8)));
    } catch (err) {
      failed(err);
      schedule(holdOffMs);
    }
  };
  schedule(Math.max(1_000, Math.floor(issuer.jwksMaxAgeMs * 0.8)));
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
  const problem = () =>
    lastGood() !== undefined
      ? undefined
      : `no usable key set for issuer ${issuer.issuer} from ${shown}: ${lastFailure ?? 'not fetched yet'}`;
  return {
    getKey,
    generation: currentGeneration,
    problem,
    refresh,
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** Errors meaning "the endpoint did not give us a key set", as opposed to "the token is bad". */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof KeySetRefusedError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') return true;
  // fetch() rejects with a TypeError on connection failures; jose rejects non-JSON bodies with a SyntaxError.
  return err instanceof TypeError || err instanceof SyntaxError;
}

/** A fetch failure in words for the log: the error, and the network cause fetch() hides in `cause`. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_JWKS_TIMEOUT') return `no answer within jwksTimeoutMs (${timeoutMs} ms)`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return detail !== undefined && !message.includes(detail) ? `${message} (${detail})` : message;
}
