import type { CheckRequestMessage } from '../contract/check-request.js';
import type { CheckOutcome } from '../contract/decision.js';
import type { CheckPipeline } from './check-pipeline.js';

const POLICY_SOURCES: ReadonlySet<string> = new Set(['engine', 'cache', 'remote', 'fallback']);

export interface ShadowComparison {
  readonly decisionId: string;
  readonly route: string;
  readonly active: {
    readonly decision: string;
    readonly reason: string;
    readonly policies: readonly string[];
    readonly version: string | undefined;
  };
  readonly shadow: {
    readonly decision: string;
    readonly reason: string;
    readonly policies: readonly string[];
    readonly version: string | undefined;
  };
  readonly agree: boolean;
}

/**
 * Shadow evaluation: a candidate policy revision decides the same live requests as the active one, after
 * the real answer has been sent, and never affects it. Agreement means the same decision and reason; each
 * comparison is reported (metrics and, for disagreements, a log line with both results), so a rollout can
 * be judged on real traffic before it is enforced.
 */
export class ShadowEvaluator {
  readonly #pipeline: CheckPipeline;
  readonly #sampleRate: number;
  readonly #report: (comparison: ShadowComparison) => void;
  readonly #random: () => number;

  constructor(options: {
    pipeline: CheckPipeline;
    sampleRate: number;
    report: (c: ShadowComparison) => void;
    random?: () => number;
  }) {
    this.#pipeline = options.pipeline;
    this.#sampleRate = options.sampleRate;
    this.#report = options.report;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Evaluates `message` against the candidate later, off the request's path. Only requests the active
   * policies decided are compared: one stopped before policy (bad token, unknown route, rate limit) or by
   * an unavailable remote tier says nothing about the candidate.
   */
  observe(message: CheckRequestMessage, active: CheckOutcome): void {
    if (
      active.kind !== 'decision' ||
      !POLICY_SOURCES.has(active.decision.source) ||
      active.decision.reason === 'remote_unavailable'
    )
      return;
    if (this.#sampleRate < 1 && this.#random() >= this.#sampleRate) return;
    setImmediate(() => {
      this.#pipeline.check(message).then(
        (shadow) => this.#report(compare(active, shadow)),
        () => {
          /* the shadow pipeline never rejects; nothing to report if it did */
        },
      );
    });
  }
}

function summary(outcome: CheckOutcome): ShadowComparison['active'] {
  if (outcome.kind === 'error')
    return { decision: 'error', reason: outcome.failure.reason, policies: [], version: outcome.failure.policyVersion };
  const d = outcome.decision;
  return { decision: d.allowed ? 'allow' : 'deny', reason: d.reason, policies: d.policies, version: d.policyVersion };
}

function compare(active: CheckOutcome, shadow: CheckOutcome): ShadowComparison {
  const a = summary(active);
  const s = summary(shadow);
  return {
    decisionId: active.kind === 'decision' ? active.decision.id : active.failure.id,
    route: (active.kind === 'decision' ? active.decision.routeId : undefined) ?? '',
    active: a,
    shadow: s,
    agree: a.decision === s.decision && a.reason === s.reason,
  };
}
