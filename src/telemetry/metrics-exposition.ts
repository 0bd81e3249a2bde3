import { Registry } from 'prom-client';

/** A scrape's answer: the metrics in one exposition format, and that format's content type. */
export interface Exposition {
  readonly text: string;
  readonly contentType: string;
}

/**
 * Whether a scrape's Accept header prefers OpenMetrics to the Prometheus text format. Prometheus asks for
 * OpenMetrics first (`application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,...`), and
 * only OpenMetrics carries exemplars; curl and anything else that does not name it get the text format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    let q = 1;
    for (const param of params) {
      const m = /^q=([0-9.]{1,5})$/.exec(param);
      if (m !== null) q = Number(m[1]);
    }
    if (!(q >= 0 && q <= 1)) continue;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
}

/**
 * Renders a registry in the format each scrape asks for. prom-client renders one format per registry: to
 * render OpenMetrics it switches the registry's format for the rendering, and it strips `_total` from the
 * names of counters in place (metric.name), which a later text rendering would then print; both are put back
 * after each OpenMetrics rendering. Renderings are serialized so that none sees another's switch.
 */
export function registryExposition(registry: Registry): (accept: string | undefined) => Promise<Exposition> {
  let previous: Promise<unknown> = Promise.resolve();
  return (accept) => {
    const openMetrics = prefersOpenMetrics(accept);
    const render = (): Promise<Exposition> =>
      openMetrics
        ? renderOpenMetrics(registry)
        : registry.metrics().then((text) => ({ text, contentType: registry.contentType }));
    const next = previous.then(render, render);
    previous = next.catch(() => undefined);
    return next;
  };
}

async function renderOpenMetrics(registry: Registry): Promise<Exposition> {
  const own = registry.contentType;
  const names = registry.getMetricsAsArray().map((metric) => [metric as { name: string }, metric.name] as const);
  const formats = registry as unknown as { setContentType(type: string): void };
  formats.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  try {
    return { text: await registry.metrics(), contentType: Registry.OPENMETRICS_CONTENT_TYPE };
  } finally {
    formats.setContentType(own);
    for (const [metric, name] of names) metric.name = name;
  }
}
