import type { Summary } from './percentiles.mjs';
export interface H2loadSummary {
  readonly seconds: number;
  readonly rps: number;
  readonly total: number;
  readonly started: number;
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  readonly status2xx: number | undefined;
  readonly statusNon2xx: number | undefined;
}
export function parseH2loadSummary(stdout: string): H2loadSummary;
export function parseH2loadLog(text: string): {
  readonly ok: number;
  readonly failed: number;
  readonly latencyMs: Summary;
};
