/**
 * The stages of a Check call that may take time, each traced as a child span of the call's span when tracing
 * is on (docs/observability.md lists them; a test keeps the list and this union in step):
 * - `authzd.authenticate`: a credential not in the cache is verified: the signature check, and the wait for
 *   its issuer's key set when that set is being fetched (first use, an unknown key id, an expired set);
 * - `authzd.remote`: the remote tier (the control plane) is asked for the decision;
 * - `authzd.evaluate`: the local engine evaluates the Cedar request;
 * - `authzd.assert`: a decision assertion is signed for the upstream.
 */
export const TRACED_STAGES = ['authzd.authenticate', 'authzd.remote', 'authzd.evaluate', 'authzd.assert'] as const;
export type TracedStage = (typeof TRACED_STAGES)[number];

/** One traced stage: ended by the stage once its work is done. */
export interface StageSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  end(): void;
  /**
   * The W3C `traceparent` naming this span, for a request the stage makes (the remote tier's), so that the
   * service it calls continues the trace; undefined when the call is not sampled.
   */
  traceparent(): string | undefined;
}

/**
 * A Check call's trace, as the pipeline sees it: no tracing types below telemetry/. Present on a call only
 * when tracing is on, so a pipeline without it pays one `undefined` check per traced stage and nothing else.
 */
export interface CallTrace {
  stage(name: TracedStage): StageSpan;
}
