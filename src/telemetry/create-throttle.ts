/** Allows one event per key per interval: for log lines that could otherwise repeat on every request. */
export function createThrottle(intervalMs: number, now: () => number = Date.now): (key: string) => boolean {
  const last = new Map<string, number>();
  return (key) => {
    const t = now();
    const prior = last.get(key);
    if (prior !== undefined && t - prior < intervalMs) return false;
    last.set(key, t);
    return true;
  };
}
