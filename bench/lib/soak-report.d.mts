export interface SoakSample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  lagMaxMs: number;
  lagP99Ms: number;
  tokenCacheEntries?: number;
}
export interface SoakRunReport {
  count: number;
  okCount: number;
  errors?: Record<string, number>;
}
export interface SoakResults {
  options: {
    segmentS: number;
    churnS: number;
    segments: number;
    warmupSegments?: number;
    heapMiB?: number;
    [k: string]: unknown;
  };
  segments: { fromMs: number; toMs: number; warm: SoakRunReport; cold?: SoakRunReport; [k: string]: unknown }[];
  samples: SoakSample[];
  churn: {
    kind: 'publication' | 'revocation';
    at: number;
    appliedMs?: number;
    /** Publications: how long the control plane's publish call took (part of appliedMs). */
    publishMs?: number;
    failed?: string;
  }[];
  server: {
    byKey: Record<string, number>;
    crossCheck: { problems: string[] };
    mix: { problems: string[]; notes: string[] };
  };
  [k: string]: unknown;
}
export interface MemoryFigures {
  first: number;
  baseline: number;
  end: number;
  max: number;
  growth: number;
  slopePerMinute: number;
}
export interface SoakSummary {
  seconds: number;
  calls: number;
  ok: number;
  throughput: number;
  errorCount: number;
  clientErrors: Record<string, number>;
  serverErrors: Record<string, number>;
  churnFailures: string[];
  counterProblems: string[];
  rss: MemoryFigures;
  heap: MemoryFigures;
  publications: Applied;
  revocations: Applied;
  targets: { rssGrowthUnder10Percent: boolean | undefined; zeroErrors: boolean };
  [k: string]: unknown;
}
export function summarizeSoak(results: SoakResults): SoakSummary;
export function renderSoakSection(results: SoakResults & { summary: SoakSummary }): string;

export interface Applied {
  attempted: number;
  applied: number;
  p50Ms: number;
  maxMs: number;
  /** Median and worst of the control plane's publish call (NaN when not recorded, e.g. for revocations). */
  publishP50Ms: number;
  publishMaxMs: number;
}
