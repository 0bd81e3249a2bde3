import type { IncomingHttpHeaders } from 'node:http';

import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  trace,
  type Tracer,
} from '@opentelemetry/api';

/** A control-plane span: an HTTP request served, or work such as a publication. */
export interface RequestSpan {
  setAttributes(attributes: Attributes): void;
  addEvent(name: string, attributes?: Attributes): void;
  /** Ends the span; an HTTP status of 500 or more, or `failed`, marks it as an error. */
  end(outcome?: { status?: number; failed?: string }): void;
}

const GETTER: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key.toLowerCase()],
};

class OtelRequestSpan implements RequestSpan {
  readonly span: Span;
  #ended = false;
  constructor(span: Span) {
    this.span = span;
  }
  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }
  addEvent(name: string, attributes?: Attributes): void {
    this.span.addEvent(name, attributes);
  }
  end(outcome: { status?: number; failed?: string } = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    if (outcome.status !== undefined) this.span.setAttribute('http.response.status_code', outcome.status);
    if (outcome.failed !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failed });
    else if (outcome.status !== undefined && outcome.status >= 500) this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
  }
}

/**
 * The control plane's spans: a request it serves is a server span, child of the trace context in its headers
 * (a sidecar's, a CI job's), so that a publication, the bundle fetches it wakes and the revocations can be
 * followed; work it does on its own (a publication from the policy directory) is a root, or a child of the
 * request that asked for it. Used only when tracing is on.
 */
export class RequestTracer {
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator;

  constructor(tracer: Tracer, propagator: TextMapPropagator) {
    this.#tracer = tracer;
    this.#propagator = propagator;
  }

  /** `name`: the method and the route template (`GET /v1/bundles/{name}`), as the HTTP conventions name spans. */
  request(name: string, headers: IncomingHttpHeaders, attributes: Attributes): RequestSpan {
    const parent = this.#propagator.extract(ROOT_CONTEXT, headers, GETTER);
    return new OtelRequestSpan(this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent));
  }

  /** Work inside a request's span (`parent`), or on its own. */
  internal(name: string, parent: RequestSpan | undefined, attributes: Attributes): RequestSpan {
    const context: Context =
      parent instanceof OtelRequestSpan ? trace.setSpan(ROOT_CONTEXT, parent.span) : ROOT_CONTEXT;
    return new OtelRequestSpan(this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, context));
  }
}
