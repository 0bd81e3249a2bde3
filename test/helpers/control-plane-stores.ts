// The control-plane suites run against both stores: these give each test a fresh, empty one of either kind
// (a temp directory, or a new database in the test file's PostgreSQL cluster).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ControlPlaneStore, StoreKind, StoreOptions } from '../../src/control-plane/store/control-plane-store.js';
import { openControlPlaneStore, type StoreSettings } from '../../src/control-plane/store/open-control-plane-store.js';
import type { PostgresSettings } from '../../src/control-plane/store/postgres/postgres-settings.js';
import { CLUSTER_USER, type PostgresCluster } from './postgres-cluster.js';

export const STORE_KINDS: readonly StoreKind[] = ['directory', 'postgres'];

/** Connection settings for `database` on the test cluster. */
export function clusterSettings(cluster: PostgresCluster, database: string, poolSize = 5): PostgresSettings {
  return { host: '127.0.0.1', port: cluster.port, database, user: CLUSTER_USER, tls: { mode: 'disable' }, poolSize };
}

/** Settings of a fresh store of `kind`. */
export async function freshStoreSettings(
  kind: StoreKind,
  cluster: () => PostgresCluster,
  name = 'cp',
): Promise<StoreSettings> {
  if (kind === 'directory') return { kind, directory: mkdtempSync(path.join(tmpdir(), `authzd-${name}-`)) };
  return { kind, postgres: clusterSettings(cluster(), await cluster().createDatabase(name)) };
}

export const TEST_STORE_OPTIONS: StoreOptions = {
  bundleName: 'bank',
  now: Date.now,
  revocationGraceSeconds: 300,
  decisionRetentionDays: 30,
  pollMs: 60_000,
  revocationRescanMs: 60_000,
};

/** Opens a store on `settings` (a second call on the same settings is a second replica). */
export function openTestStore(
  settings: StoreSettings,
  options: Partial<StoreOptions> = {},
): Promise<ControlPlaneStore> {
  return openControlPlaneStore(settings, { ...TEST_STORE_OPTIONS, ...options });
}
