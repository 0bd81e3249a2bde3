import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3Propagator } from '@opentelemetry/propagator-b3';

import type { TracePropagator } from '../config/tracing-config-schema.js';

/**
 * Reads trace context in the listed formats, the first listed winning when a request carries several. A
 * composite propagator extracts with each in turn, a later one replacing what an earlier one found, so they
 * run in reverse. B3 reads the single `b3` header and, without it, the X-B3-* headers (`b3` and `b3multi` are
 * one reader). None listed: nothing is read, every span is a root.
 */
export function tracePropagator(names: readonly TracePropagator[]): TextMapPropagator {
  const kinds = [...new Set(names.map((n) => (n === 'tracecontext' ? 'w3c' : 'b3')))];
  return new CompositePropagator({
    propagators: kinds.reverse().map((k) => (k === 'w3c' ? new W3CTraceContextPropagator() : new B3Propagator())),
  });
}
