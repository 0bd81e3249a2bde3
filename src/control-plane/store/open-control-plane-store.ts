import type { ControlPlaneStore, StoreOptions } from './control-plane-store.js';
import { DirectoryStore } from './directory/directory-store.js';
import type { PostgresSettings } from './postgres/postgres-settings.js';
import { PostgresStore } from './postgres/postgres-store.js';

/** Where the control plane keeps its state (`store.kind`). */
export type StoreSettings =
  | { readonly kind: 'directory'; readonly directory: string }
  | { readonly kind: 'postgres'; readonly postgres: PostgresSettings };

/** Opens the configured store; what cannot be used is a ConfigError listing every problem. */
export function openControlPlaneStore(settings: StoreSettings, options: StoreOptions): Promise<ControlPlaneStore> {
  return settings.kind === 'directory'
    ? DirectoryStore.open(settings.directory, options)
    : PostgresStore.open(settings.postgres, options);
}
