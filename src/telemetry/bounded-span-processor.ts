import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/** Why a span never reached the collector. */
export type SpanDropReason = 'queue_full' | 'export_failed';

export interface SpanCounters {
  /** Spans the collector accepted. */
  onExported(spans: number): void;
  onDropped(reason: SpanDropReason, spans: number): void;
  /** An export failed (the collector is away, refused or slow); its spans are already counted as dropped. */
  onExportError?(error: Error | undefined): void;
}

export interface BoundedSpanProcessorOptions {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
}

/**
 * The SDK's BatchSpanProcessor, with every span that will never reach the collector counted: ended spans wait
 * in a bounded queue and leave it in batches, in the background, so a Check never waits for an export; a full
 * queue (the collector is away or slow and the batches back up) drops the new span, and a failed export drops
 * its batch. The SDK drops in both cases too but only says so in its diagnostic log; this counts both, by
 * reason, for a metric. The bound is counted here, over the spans queued and those being exported: the batch
 * processor hands batches to the exporter without waiting for the last to finish, so with a collector that
 * hangs, its own queue bound alone would let exports in flight (up to the exporter's concurrency limit) hold
 * many more. Counted so, at most maxQueueSize spans are ever held, and the batch processor's own queue never
 * reaches its bound (it never drops on its own).
 */
export function boundedSpanProcessor(
  exporter: SpanExporter,
  options: BoundedSpanProcessorOptions,
  counters: SpanCounters,
): SpanProcessor {
  let queued = 0;
  const counting: SpanExporter = {
    export(spans, done) {
      const settle = (result: { code: ExportResultCode; error?: Error }) => {
        queued -= spans.length;
        if (result.code === ExportResultCode.SUCCESS) counters.onExported(spans.length);
        else {
          counters.onDropped('export_failed', spans.length);
          counters.onExportError?.(result.error);
        }
        done(result);
      };
      try {
        exporter.export(spans, settle);
      } catch (err) {
        settle({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
      }
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
  const batch = new BatchSpanProcessor({
    exporter: counting,
    maxQueueSize: options.maxQueueSize,
    maxExportBatchSize: options.maxExportBatchSize,
    scheduledDelayMillis: options.scheduleDelayMs,
    // The exporter gives up (its retries included) at exportTimeoutMs; the processor waits a little longer
    // so that the exporter's answer, and so the count, decides.
    exportTimeoutMillis: options.exportTimeoutMs + 1_000,
  });
  return {
    onStart: (span: Span, parent: Context) => batch.onStart(span, parent),
    onEnd(span: ReadableSpan) {
      // Only sampled spans are exported (the batch processor ignores the others too).
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
      if (queued >= options.maxQueueSize) {
        counters.onDropped('queue_full', 1);
        return;
      }
      queued++;
      batch.onEnd(span);
    },
    forceFlush: () => batch.forceFlush(),
    shutdown: () => batch.shutdown(),
  };
}
