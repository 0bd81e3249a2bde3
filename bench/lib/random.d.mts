export interface Random {
  next(): number;
  int(n: number): number;
  pick<T>(list: readonly T[]): T;
  shuffle<T>(list: T[]): T[];
}
export function seededRandom(seed: number): Random;
