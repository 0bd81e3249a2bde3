import type { Summary } from './percentiles.mjs';
export interface GhzCall {
  readonly startMs: number;
  readonly latencyMs: number;
  readonly ok: boolean;
}
export interface GhzReport {
  readonly count: number;
  readonly okCount: number;
  readonly errorCount: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly rps: number;
  readonly endReason: string | undefined;
  readonly detailsComplete: boolean;
  readonly latencyMs: Summary;
  readonly calls: readonly GhzCall[];
}
export function parseRfc3339(text: string): number;
export function parseGhzReport(input: string | object): GhzReport;
