export class DecisionLogStoreError extends Error {
  override readonly name = 'DecisionLogStoreError';
}

/** The UTC day of an instant as `YYYY-MM-DD`: the unit of the decision log's retention. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The decision events sidecars ship (`POST /v1/decisions`), kept by UTC day of arrival. */
export interface DecisionLog {
  /**
   * Appends `text` (whole NDJSON lines, each ending in a newline) as one batch, all of it or nothing, and
   * returns where it went (the day's file, or the day's partition).
   */
  append(text: string): Promise<string>;
  /** Deletes the days older than the retention. Returns how many days were deleted. */
  removeExpired(): Promise<number>;
}
