import type { RevocationEntry, RevocationFeedPage, RevocationRequest } from '../../revocation/revocation-entry.js';

export class RevocationStoreError extends Error {
  override readonly name = 'RevocationStoreError';
}

/**
 * The revocation feed's storage as the API sees it. Every replica keeps the live entries in memory (a
 * RevocationIndex) and answers pages from there, so a wake-up of a thousand parked long polls costs no query;
 * `scan` brings the memory up to what the shared store holds.
 */
export interface RevocationLog {
  /** The feed's identity: made once with the storage, new when the storage is lost or replaced. */
  readonly feed: string;
  /** The highest sequence number this replica knows (0 when none). */
  readonly seq: number;
  readonly liveCount: number;
  /** Called whenever `seq` grows or compaction removes entries. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Stores a new entry under the next sequence number, which the store assigns. */
  add(request: RevocationRequest): Promise<RevocationEntry>;
  /** The feed from `since` (see RevocationIndex.page). */
  page(since: number, feed?: string): RevocationFeedPage;
  /** Whether a client at `since` (of feed `feed`, when it says) has nothing to learn. */
  isCurrent(since: number, feed?: string): boolean;
  /** Picks up entries other replicas wrote and drops entries they compacted. */
  scan(): Promise<void>;
  /** Deletes entries expired for longer than the grace. Returns how many. */
  compact(): Promise<number>;
}
