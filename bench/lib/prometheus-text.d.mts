export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
export function parsePrometheusText(text: string): Sample[];
export function sumSamples(samples: readonly Sample[], name: string, where?: Readonly<Record<string, string>>): number;
export function sumBy(samples: readonly Sample[], name: string, labelNames: readonly string[]): Record<string, number>;
export function diffCounts(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number>;
