import type { CallTrace } from './call-trace.js';

/**
 * What one Check call carries through the pipeline: the time it started (the clock is read once per call on
 * the way through, so every stage sees the same "now"), and its deadline — the gRPC deadline Envoy sends (its
 * ext_authz `timeout`), else the configured default. Nothing a call waits for may outlive it: past the
 * deadline Envoy has answered on its own. The fast path (a cached token and decision) waits for nothing and
 * pays for no timer; a stage that waits bounds the wait by what is left.
 */
export interface CallContext {
  /** Epoch milliseconds at the start of the call. */
  readonly nowMs: number;
  /** Epoch milliseconds after which an answer is of no use. */
  readonly deadlineMs: number;
  /** The call's trace, when tracing is on: stages that take time are spans under it. */
  readonly trace?: CallTrace | undefined;
}

/** Raised inside the pipeline when a call's deadline passes; `stage` says what it was doing. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly stage: string) {
    super(`deadline exceeded while ${stage}`);
  }
}

/** Milliseconds left before the call's deadline (may be negative). */
export const remainingMs = (ctx: CallContext, now: number = Date.now()): number => ctx.deadlineMs - now;

/**
 * `pending`, unless the call's deadline passes first: then a DeadlineExceededError naming `stage`. The work
 * behind `pending` is not this call's to cancel when it is shared (a key-set fetch other calls wait for
 * too); it ends on its own bound (jwksTimeoutMs), and this call stops waiting for it.
 */
export function withinDeadline<T>(pending: Promise<T>, ctx: CallContext, stage: string): Promise<T> {
  const left = remainingMs(ctx);
  if (left <= 0) return Promise.reject(new DeadlineExceededError(stage));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(stage)), left);
  });
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}
