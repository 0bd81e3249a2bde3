import { ExportResultCode } from '@opentelemetry/core';
import { AlwaysOffSampler, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';

import { boundedSpanProcessor, type SpanDropReason } from '../../../src/telemetry/bounded-span-processor.js';
import { until } from '../../helpers/until.js';

/** An exporter whose answers the test gives, one export at a time. */
function heldExporter() {
  const pending: { spans: ReadableSpan[]; done: (r: { code: ExportResultCode }) => void }[] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => void pending.push({ spans, done }),
    shutdown: () => Promise.resolve(),
  };
  return { exporter, pending };
}

function setup(exporter: SpanExporter, maxQueueSize: number, sampler?: AlwaysOffSampler) {
  const counts = { exported: 0, queue_full: 0, export_failed: 0 };
  const processor = boundedSpanProcessor(
    exporter,
    { maxQueueSize, maxExportBatchSize: 2, scheduleDelayMs: 1, exportTimeoutMs: 60_000 },
    {
      onExported: (n) => (counts.exported += n),
      onDropped: (reason: SpanDropReason, n) => (counts[reason] += n),
    },
  );
  const provider = new TracerProvider({ spanProcessors: [processor], ...(sampler ? { sampler } : {}) });
  const tracer = provider.getTracer('t');
  return { counts, span: () => tracer.startSpan('s').end() };
}

describe('boundedSpanProcessor', () => {
  it('holds at most maxQueueSize spans, queued or in an export, and counts the ones it drops', async () => {
    const { exporter, pending } = heldExporter();
    const { counts, span } = setup(exporter, 4);
    for (let i = 0; i < 10; i++) span();
    await until('an export started', () => (pending.length >= 1 ? true : undefined));
    // Four held (a batch of two in an export that has not answered, two queued), six dropped on arrival.
    expect(counts.queue_full).toBe(6);
    pending[0]!.done({ code: ExportResultCode.SUCCESS });
    expect(counts.exported).toBe(2);
    await until('the second export', () => (pending.length >= 2 ? true : undefined));
    pending[1]!.done({ code: ExportResultCode.FAILED });
    expect(counts).toMatchObject({ exported: 2, export_failed: 2 });
    // Room again: the next spans are taken, not dropped.
    span();
    span();
    await until('the next export', () => (pending.length >= 3 ? true : undefined));
    expect(pending[2]!.spans).toHaveLength(2);
    expect(counts.queue_full).toBe(6);
  });

  it('counts an exporter that throws as a failed export', async () => {
    const { counts, span } = setup(
      {
        export: () => {
          throw new Error('boom');
        },
        shutdown: () => Promise.resolve(),
      },
      8,
    );
    span();
    span();
    await until('the failure counted', () => (counts.export_failed === 2 ? true : undefined));
  });

  it('takes no span the sampler left out', () => {
    const { exporter, pending } = heldExporter();
    const { counts, span } = setup(exporter, 1, new AlwaysOffSampler());
    for (let i = 0; i < 5; i++) span();
    expect(counts).toEqual({ exported: 0, queue_full: 0, export_failed: 0 });
    expect(pending).toEqual([]);
  });
});
