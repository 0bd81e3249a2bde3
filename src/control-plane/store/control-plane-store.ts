import type { Logger } from '../../telemetry/create-logger.js';
import type { BundleRepository } from './bundle-repository.js';
import type { DecisionLog } from './decision-log.js';
import type { RevocationLog } from './revocation-log.js';
import type { StoreChanges } from './store-changes.js';

export type StoreKind = 'directory' | 'postgres';

/**
 * Everything the control plane keeps: the bundle revisions of its bundle name and their pointer, the
 * revocation feed, the shipped decision logs; and the signal that another replica changed one of them.
 * docs/control-plane.md ("Storage") says what each implementation guarantees.
 */
export interface ControlPlaneStore {
  readonly kind: StoreKind;
  /** For logs and messages: the directory, or the database without its password. */
  readonly description: string;
  readonly bundles: BundleRepository;
  readonly revocations: RevocationLog;
  readonly decisions: DecisionLog;
  readonly changes: StoreChanges;
  /** Whether the store can be reached now; the control plane is ready only while it is. */
  readonly healthy: boolean;
  /** Called when `healthy` flips. Returns the unsubscribe function. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
  /** Starts following changes made by other replicas (driving `changes`); `close` stops it. */
  follow(): void;
  close(): Promise<void>;
}

/** What every store needs besides where it is. */
export interface StoreOptions {
  /** The bundle name whose revisions `bundles` holds. */
  readonly bundleName: string;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly logger?: Logger;
  /** An expired revocation is kept this long before compaction deletes it. */
  readonly revocationGraceSeconds: number;
  /** Days of decision logs kept, today's included. */
  readonly decisionRetentionDays: number;
  /** Periodic re-read of the pointer and the revocations, the fallback for a missed change signal. */
  readonly pollMs: number;
  readonly revocationRescanMs: number;
  /** How often the store's connection is checked (PostgreSQL); a check not answered in this time is a loss. */
  readonly healthCheckMs?: number;
  /** Called for every statement sent to a database (the store-load metric). */
  readonly onQuery?: () => void;
}
