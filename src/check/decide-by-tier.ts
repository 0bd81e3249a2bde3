import { type CallContext, remainingMs } from '../contract/call-context.js';
import type { CedarCall } from '../contract/cedar-call.js';
import type { DecisionSource, RemoteOutcome } from '../contract/decision.js';
import { evaluateCall, type Evaluation } from '../decide/evaluate-call.js';
import type { DecisionEngine, PreparedSet } from '../engine/decision-engine.js';
import type { RiskClassSettings } from '../policy/routes-schema.js';
import { type DecisionCache, decisionKey } from './decision-cache.js';
import type { RemoteDecider } from './remote-decider.js';

export interface Authorized {
  readonly evaluation: Evaluation;
  readonly source: DecisionSource;
  readonly remote: RemoteOutcome | undefined;
  /** The remote tier's policy version, when it decided. */
  readonly policyVersion?: string;
}

export interface TierDeps {
  readonly engine: DecisionEngine;
  readonly onError: 'deny' | 'ignore';
  /** Ask the remote tier about resources the local store does not know (remote.askWhenResourceUnknown). */
  readonly askWhenResourceUnknown: boolean;
  readonly decisionCache?: DecisionCache;
  /** Bumped by revocations and risk changes; part of every decision-cache key. */
  readonly epoch?: () => number;
  readonly remote?: RemoteDecider;
  /** Observes the engine's own time per evaluation (seconds). */
  readonly onEvaluation?: (seconds: number) => void;
  /** Decide everything with the local engine (shadow evaluation: no remote calls, no side effects). */
  readonly localOnly?: boolean;
}

/**
 * The decision itself, by risk class: a class that requires it (or a resource the local store does not
 * know) is asked of the remote tier within the class's budget and what is left of the call's deadline; if
 * that fails, a closed class denies and an open one falls back to the local engine, uncached. Everything
 * else is decided locally, from the cache when the class allows reuse.
 */
export class TierDecider {
  readonly #deps: TierDeps;

  constructor(deps: TierDeps) {
    this.#deps = deps;
  }

  async decide(set: PreparedSet, call: CedarCall, riskClass: RiskClassSettings, ctx: CallContext): Promise<Authorized> {
    const { remote } = this.#deps;
    if (this.#deps.localOnly === true) return this.#local(set, call, 0, ctx);
    const required = riskClass.remote;
    const unknownResource =
      remote !== undefined && this.#deps.askWhenResourceUnknown && set.model.entities.get(call.resource) === undefined;
    if (!required && !unknownResource) return this.#local(set, call, riskClass.cacheTtlSeconds, ctx);

    const key = this.#cacheKey(set, call);
    const cache = this.#deps.decisionCache;
    const cached = riskClass.cacheTtlSeconds > 0 ? cache?.get(key, ctx.nowMs) : undefined;
    if (cached !== undefined) return { evaluation: cached, source: 'cache', remote: undefined };
    // The remote call may take the class's budget, but never past the call's deadline.
    const budgetMs = Math.min(riskClass.budgetMs, Math.floor(remainingMs(ctx)));
    const answer =
      remote !== undefined && budgetMs > 0
        ? await this.#askRemote(remote, call, budgetMs, key, ctx)
        : ({ ok: false, result: budgetMs > 0 ? 'error' : 'timeout', ms: 0 } as const);
    if (answer.ok) {
      if (riskClass.cacheTtlSeconds > 0)
        cache?.set(key, answer.evaluation, riskClass.cacheTtlSeconds * 1000, ctx.nowMs);
      return {
        evaluation: answer.evaluation,
        source: 'remote',
        remote: { result: 'ok', failureMode: undefined, ms: answer.ms },
        policyVersion: answer.policyVersion,
      };
    }
    if (required && riskClass.failureMode === 'closed') {
      return {
        evaluation: {
          allowed: false,
          reason: 'remote_unavailable',
          policies: [],
          errors: [],
          detail: `remote decision ${answer.result} after ${answer.ms} ms`,
        },
        source: 'remote',
        remote: { result: answer.result, failureMode: 'closed', ms: answer.ms },
      };
    }
    // The local answer stands in for the remote one. It is never cached: once the remote tier is back, the
    // next request must be asked of it again, not answered with what was decided while it was away.
    return {
      evaluation: this.#evaluate(set, call, ctx),
      source: 'fallback',
      remote: { result: answer.result, failureMode: required ? 'open' : undefined, ms: answer.ms },
    };
  }

  #local(set: PreparedSet, call: CedarCall, ttlSeconds: number, ctx: CallContext): Authorized {
    const cache = this.#deps.decisionCache;
    if (cache === undefined || ttlSeconds === 0)
      return { evaluation: this.#evaluate(set, call, ctx), source: 'engine', remote: undefined };
    const key = this.#cacheKey(set, call);
    const cached = cache.get(key, ctx.nowMs);
    if (cached !== undefined) return { evaluation: cached, source: 'cache', remote: undefined };
    const evaluation = this.#evaluate(set, call, ctx);
    cache.set(key, evaluation, ttlSeconds * 1000, ctx.nowMs);
    return { evaluation, source: 'engine', remote: undefined };
  }

  /** Every input of the decision as one string (see decisionKey); built once per request, where it is needed. */
  #cacheKey(set: PreparedSet, call: CedarCall): string {
    return decisionKey(set.model.version, this.#deps.epoch?.() ?? 0, call, set.model.contextReads);
  }

  #evaluate(set: PreparedSet, call: CedarCall, ctx: CallContext): Evaluation {
    const span = ctx.trace?.stage('authzd.evaluate');
    try {
      const start = process.hrtime.bigint();
      const evaluation = evaluateCall(this.#deps.engine, set, call, this.#deps.onError);
      this.#deps.onEvaluation?.(Number(process.hrtime.bigint() - start) / 1e9);
      return evaluation;
    } finally {
      span?.end();
    }
  }

  #askRemote(
    remote: RemoteDecider,
    call: CedarCall,
    budgetMs: number,
    key: string,
    ctx: CallContext,
  ): ReturnType<RemoteDecider['decide']> {
    const span = ctx.trace?.stage('authzd.remote');
    if (span === undefined) return remote.decide(call, budgetMs, key);
    span.setAttribute('authzd.remote.budget_ms', budgetMs);
    return remote
      .decide(call, budgetMs, key, span.traceparent())
      .then((answer) => {
        span.setAttribute('authzd.remote.result', answer.ok ? 'ok' : answer.result);
        return answer;
      })
      .finally(() => span.end());
  }
}
