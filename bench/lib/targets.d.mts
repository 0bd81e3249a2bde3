export interface TargetResult {
  readonly target: string;
  readonly measured: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
}
export function evaluateTargets(results: { scenarios: Record<string, any>; activationStall?: any }): TargetResult[];
export const SATURATED_CORES: number;
export function capacityRatio(a: any, b: any): { ratio: number; basis: 'throughput' | 'CPU per call' };
