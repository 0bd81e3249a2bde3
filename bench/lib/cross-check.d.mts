export type Counts = Readonly<Record<string, number>>;
export function splitServerCounts(byKey: Counts): { answered: number; errors: number; total: number };
export interface CrossCheck {
  readonly clientOk: number;
  readonly serverAnswered: number;
  readonly serverErrors: number;
  readonly difference: number;
  readonly slack: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
}
export function crossCheckCounts(opts: {
  tool: string;
  clientOk: number;
  serverByKey: Counts;
  slack: number;
}): CrossCheck;
export function expectedCounts(expectations: readonly string[], calls: number): Record<string, number>;
export function compareMix(
  expected: Counts,
  actual: Counts,
  slack: number,
  opts?: { absorbing?: readonly string[] },
): { ok: boolean; problems: string[]; notes: string[] };
export interface CacheCounts {
  readonly hits: Counts;
  readonly misses: Counts;
}
export function cacheHitRatios(
  before: CacheCounts,
  after: CacheCounts,
): Record<string, { hits: number; misses: number; ratio: number }>;
