import cluster from 'node:cluster';
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';

/**
 * Removes the socket file a dead process left at a `unix://` address, so the listener can bind again.
 * In Kubernetes the socket lives on an emptyDir shared with Envoy, which outlives a container restart: the
 * leftover file would make every restart fail with EADDRINUSE. Only a socket that refuses connections is
 * removed; a live one (another authzd) and anything that is not a socket are left for bind to report.
 * Cluster workers never remove: the primary owns the shared listener, and a worker probing while another
 * one's bind is under way could take a socket that is about to listen for a stale one.
 */
export async function removeStaleSocket(address: string): Promise<void> {
  if (!address.startsWith('unix://') || cluster.isWorker) return;
  const file = address.slice('unix://'.length);
  const stats = await lstat(file).catch(() => undefined);
  if (stats === undefined || !stats.isSocket()) return;
  const refused = await new Promise<boolean>((resolve) => {
    const probe = connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
  if (refused) await unlink(file).catch(() => undefined);
}
