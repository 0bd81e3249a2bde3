// Just enough of the Prometheus text exposition format to read counters and gauges off /metrics.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample: metric name, labels and value (NaN/+Inf as numbers). Comments and blank lines are skipped. */
export function parsePrometheusText(text) {
  const samples = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL))
      labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of a metric's samples whose labels include every label in `where`. */
export function sumSamples(samples, name, where = {}) {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** A metric summed by the values of one or more labels, keyed "a|b". */
export function sumBy(samples, name, labelNames) {
  const out = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = labelNames.map((l) => s.labels[l] ?? '').join('|');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** after - before for each key (keys missing before count from 0), dropping zero differences. */
export function diffCounts(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
