export interface TargetResult {
  readonly target: string;
  readonly measured: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
  /** Measured, but the numbers cannot decide it (see measured). */
  readonly inconclusive?: boolean;
}
export function evaluateTargets(results: { scenarios: Record<string, any>; activationStall?: any }): TargetResult[];
