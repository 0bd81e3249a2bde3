export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}
export function percentile(sorted: ArrayLike<number>, p: number): number;
export function summarize(values: Iterable<number> | ArrayLike<number>): Summary;
