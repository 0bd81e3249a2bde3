// The storage of one bundle name's published revisions and of the pointer to the served one. Two
// implementations: directory/ (one replica, or several on one volume) and postgres/ (any number of replicas).

/** The revision being served and its bundle's digest (lowercase hex SHA-256 of the bytes). */
export interface BundlePointer {
  readonly revision: number;
  readonly digest: string;
}

/**
 * What `commit` did: `committed` (stored and now current), `taken` (that revision exists already: another
 * replica took the number) or `overtaken` (the pointer already names a higher revision). On `taken` and
 * `overtaken` the publisher starts over from what the store holds.
 */
export type CommitResult = 'committed' | 'taken' | 'overtaken';

export class BundleRepositoryError extends Error {
  override readonly name = 'BundleRepositoryError';
}

export interface BundleRepository {
  /** Revisions stored, newest first. */
  revisions(): Promise<number[]>;
  /** The bytes of a stored revision; throws when it is missing or does not match what was stored. */
  read(revision: number): Promise<Uint8Array>;
  /** The pointer, undefined when none was ever written; throws on a corrupt one. */
  readPointer(): Promise<BundlePointer | undefined>;
  /**
   * Stores `bytes` as `revision` and points at it, unless the revision is taken or the pointer is at a higher
   * one, in which case nothing of this call stays stored. Revisions are immutable once stored: nothing ever
   * overwrites one.
   */
  commit(revision: number, bytes: Uint8Array, digest: string): Promise<CommitResult>;
  /** Deletes all but the `keep` newest revisions, never `protect` (the served one). Returns what it deleted. */
  prune(keep: number, protect: number): Promise<number[]>;
}
