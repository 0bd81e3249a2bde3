import type { Summary } from './percentiles.mjs';
export interface StallActivation {
  readonly logMs: number | undefined;
  readonly windowMs: number;
  readonly callsDuring: number;
  readonly clientMaxMs: number;
  readonly clientStallMs: number;
  readonly serverLagMaxMs: number;
  readonly stallMs: number;
}
export function analyzeStall(input: {
  calls: readonly { startMs: number; latencyMs: number; ok: boolean }[];
  windows: readonly { startMs: number; endMs: number; logMs: number | undefined }[];
  lagSamples: readonly { fromMs: number; toMs: number; lagMaxMs: number }[];
  warmupMs?: number;
}): {
  steady: { calls: number; latencyMs: Summary; lagMaxMs: number };
  activations: StallActivation[];
  worstStallMs: number;
  worstLogMs: number;
};
