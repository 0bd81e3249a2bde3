import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { JSONWebKeySet } from 'jose';

import { makeDir } from '../util/make-dir.js';
import { parseJson } from '../util/parse-json.js';
import { replaceDurably } from '../util/write-durably.js';
import { keySetProblems } from './key-set-problems.js';

/**
 * The last good JWKS of one issuer, kept in the cache directory (`<dir>/jwks/<hash of the issuer>.json`)
 * so that a sidecar restarted while its identity provider is unreachable can still verify tokens, within
 * the same age bound as a key set held in memory (jwksMaxAgeMs + jwksStaleIfErrorMs from its fetch).
 *
 * No checksum: the file holds public keys, and damage to one makes signatures fail (a denial, never an
 * acceptance); damage to the structure fails the JWKS checks on load. What the file must be protected
 * from is someone adding a key of their own, which no checksum written beside it would stop: the
 * directory is as much a trust anchor as a jwksFile, and is created private to the sidecar (mode 0700).
 */
export interface PersistedKeySet {
  readonly jwks: JSONWebKeySet;
  /** Epoch milliseconds of the fetch that produced it. */
  readonly fetchedAt: number;
}

export type PersistedKeySetLoad =
  | { readonly kind: 'loaded'; readonly keySet: PersistedKeySet }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly detail: string };

export function persistedKeySetFile(dir: string, issuer: string): string {
  return path.join(dir, 'jwks', `${createHash('sha256').update(issuer).digest('hex').slice(0, 32)}.json`);
}

/** Reads a persisted key set of `issuer` fetched from `url`; refuses one of another issuer or URL, a future date, or a bad JWKS. */
export function readPersistedKeySet(file: string, issuer: string, url: string, nowMs: number): PersistedKeySetLoad {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'refused', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  let parsed: { issuer?: unknown; url?: unknown; fetchedAt?: unknown; jwks?: unknown };
  try {
    parsed = parseJson(text) as typeof parsed;
  } catch {
    return { kind: 'refused', detail: 'not JSON' };
  }
  if (parsed.issuer !== issuer || parsed.url !== url)
    return { kind: 'refused', detail: 'written for another issuer or JWKS URL' };
  const fetchedAt = parsed.fetchedAt;
  if (!Number.isSafeInteger(fetchedAt) || (fetchedAt as number) <= 0)
    return { kind: 'refused', detail: 'fetchedAt: expected epoch milliseconds' };
  // A copy "fetched" in the future would look fresh for longer than it is.
  if ((fetchedAt as number) > nowMs + 300_000) return { kind: 'refused', detail: 'fetchedAt lies in the future' };
  const problems = keySetProblems(parsed.jwks);
  if (problems.length > 0) return { kind: 'refused', detail: problems.join('; ') };
  return { kind: 'loaded', keySet: { jwks: parsed.jwks as JSONWebKeySet, fetchedAt: fetchedAt as number } };
}

export async function writePersistedKeySet(
  file: string,
  issuer: string,
  url: string,
  keySet: PersistedKeySet,
): Promise<void> {
  await makeDir(path.dirname(file), 0o700);
  await replaceDurably(file, `${JSON.stringify({ issuer, url, fetchedAt: keySet.fetchedAt, jwks: keySet.jwks })}\n`);
}
