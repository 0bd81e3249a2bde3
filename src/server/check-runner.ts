import { randomUUID } from 'node:crypto';

import { recordOutcome, type RecordSinks } from '../audit/record-outcome.js';
import type { CheckOptions } from '../check/check-pipeline.js';
import type { CheckRequestMessage } from '../contract/check-request.js';
import type { CheckOutcome } from '../contract/decision.js';
import type { CheckSpan, CheckTracer, CheckTransport } from '../telemetry/check-tracer.js';

export interface CheckRunner {
  /**
   * Decides one call and records it (metrics, audit, then observers such as shadow evaluation) before
   * resolving; never rejects. Every transport (gRPC, HTTP) goes through here, so a side effect added once
   * applies to all of them. `deadlineMs` (epoch ms): when the caller gives up; absent, the configured default.
   * `transport`: the listener the call came in on (names its span when tracing is on); default gRPC.
   */
  run(message: CheckRequestMessage, deadlineMs?: number, transport?: CheckTransport): Promise<CheckOutcome>;
  /** Calls received and not yet recorded, over all transports. */
  readonly inflight: number;
  /** Resolves when no call is in flight. */
  idle(): Promise<void>;
}

export function createCheckRunner(deps: {
  pipeline: { check(message: CheckRequestMessage, options?: CheckOptions): Promise<CheckOutcome> };
  sinks: RecordSinks;
  /** The active policy version, for the audit event of an unexpected failure. */
  version: () => string | undefined;
  /** The clock the pipeline reads (read once per call, here); default Date.now. */
  now?: () => number;
  /** Deadline of a call whose caller sets none (checks.defaultDeadlineMs); default 1 s. */
  defaultDeadlineMs?: number;
  observe?: (message: CheckRequestMessage, outcome: CheckOutcome) => void;
  /** Tracing on: each call is a span, child of the trace context in its headers. Absent: no tracing work at all. */
  tracer?: CheckTracer;
}): CheckRunner {
  const { sinks, tracer } = deps;
  let inflight = 0;
  let waiters: (() => void)[] = [];
  return {
    get inflight() {
      return inflight;
    },
    idle: () => (inflight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async run(message, deadlineMs, transport = 'grpc') {
      const started = process.hrtime.bigint();
      const nowMs = (deps.now ?? Date.now)();
      const deadline = deadlineMs ?? nowMs + (deps.defaultDeadlineMs ?? 1_000);
      const span = tracer === undefined ? undefined : startSpan(tracer, message, transport, sinks);
      inflight++;
      sinks.metrics.inflight.inc();
      try {
        const outcome = await deps.pipeline
          .check(message, { nowMs, deadlineMs: deadline, trace: span })
          .catch((err: unknown): CheckOutcome => ({
            kind: 'error',
            failure: { id: randomUUID(), reason: 'internal_error', policyVersion: deps.version(), detail: String(err) },
          }));
        const latencySeconds = Number(process.hrtime.bigint() - started) / 1e9;
        try {
          recordOutcome(outcome, latencySeconds, sinks, span?.exemplar());
          // A deadline_exceeded answer is late by definition, even when the timer that ended it fired a
          // fraction of a millisecond before the clocks here say the deadline passed.
          const expired = outcome.kind === 'error' && outcome.failure.reason === 'deadline_exceeded';
          if (expired || nowMs + latencySeconds * 1000 > deadline) {
            sinks.metrics.lateAnswers.inc({
              decision: outcome.kind === 'error' ? 'error' : outcome.decision.allowed ? 'allow' : 'deny',
            });
          }
          deps.observe?.(message, outcome);
        } catch (err) {
          sinks.logger.error({ err: String(err) }, 'recording a decision failed');
        }
        if (span !== undefined) endSpan(span, outcome, sinks);
        return outcome;
      } finally {
        inflight--;
        sinks.metrics.inflight.dec();
        if (inflight === 0) {
          const ready = waiters;
          waiters = [];
          for (const resolve of ready) resolve();
        }
      }
    },
  };
}

/** The call's span; a tracing failure (there should be none) costs the call its span, never its answer. */
function startSpan(
  tracer: CheckTracer,
  message: CheckRequestMessage,
  transport: CheckTransport,
  sinks: RecordSinks,
): CheckSpan | undefined {
  try {
    return tracer.start(message, transport);
  } catch (err) {
    if (sinks.throttle('tracing')) sinks.logger.error({ err: String(err) }, 'starting a Check span failed');
    return undefined;
  }
}

/** Ends the call's span with its outcome; apart from the record, so that a tracing failure costs only the span. */
function endSpan(span: CheckSpan, outcome: CheckOutcome, sinks: RecordSinks): void {
  try {
    span.end(outcome);
  } catch (err) {
    if (sinks.throttle('tracing')) sinks.logger.error({ err: String(err) }, 'ending a Check span failed');
  }
}
