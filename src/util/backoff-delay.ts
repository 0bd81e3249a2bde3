/**
 * Exponential backoff with jitter: the nth consecutive failure waits between half and all of
 * min * 2^(n-1), capped at max, so a fleet of sidecars does not retry in lockstep after an outage.
 */
export function backoffDelay(
  failures: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
