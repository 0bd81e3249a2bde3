import { LRUCache } from 'lru-cache';

import type { CedarValueJson } from '../cedar/cedar.js';
import type { CedarCall } from '../contract/cedar-call.js';
import type { Evaluation } from '../decide/evaluate-call.js';
import type { ContextReads } from '../policy/context-reads.js';

export interface DecisionCacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Entry {
  readonly evaluation: Evaluation;
  readonly expiresAt: number;
}

/**
 * Decisions of the engine, reused only for requests whose every decision input is identical: the policy
 * version, the revocation/risk epoch, the principal with all its attributes and parents, the action, the
 * resource, and the values of every context attribute a policy can read (see contextReads). Entries live
 * for the route's risk-class TTL (never for high and critical routes), and the whole cache is dropped on
 * policy activation and on revocation. Token validity is checked before the cache on every request, so a
 * cached decision never outlives the token that earned it.
 */
export class DecisionCache {
  readonly #cache: LRUCache<string, Entry>;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(options: DecisionCacheOptions) {
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => key.length * 2 + 128 + entry.evaluation.policies.length * 32,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  get stats(): { hits: number; misses: number; evictions: number; entries: number; bytes: number; maxBytes: number } {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
      maxBytes: this.#cache.maxSize,
    };
  }

  get(key: string, now: number): Evaluation | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined || entry.expiresAt <= now) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.evaluation;
  }

  set(key: string, evaluation: Evaluation, ttlMs: number, now: number): void {
    if (ttlMs <= 0) return;
    this.#cache.set(key, { evaluation, expiresAt: now + ttlMs });
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Every input of the decision, as one string. Fields are JSON-encoded, so no separator can be forged. */
export function decisionKey(version: string, epoch: number, call: CedarCall, reads: ContextReads): string {
  const principalEntity = call.principalEntity;
  const parts: unknown[] = [
    version,
    epoch,
    call.principal.type,
    call.principal.id,
    principalEntity?.attrs ?? null,
    principalEntity?.parents ?? null,
    call.action.id,
    call.resource.type,
    call.resource.id,
  ];
  if (reads === 'all') parts.push(call.context);
  else {
    for (const { path, presence } of reads) {
      const value = valueAt(call.context, path);
      parts.push(presence ? value !== undefined : (value ?? '\u0000absent'));
    }
  }
  return JSON.stringify(parts);
}

function valueAt(context: Record<string, CedarValueJson>, path: readonly string[]): CedarValueJson | undefined {
  let value: CedarValueJson | undefined = context;
  for (const attr of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, attr))
      return undefined;
    value = (value as Record<string, CedarValueJson>)[attr];
  }
  return value;
}
