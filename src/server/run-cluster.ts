import cluster, { type Worker } from 'node:cluster';

import type { JWK } from 'jose';
import { AggregatorRegistry } from 'prom-client';

import type { Config } from '../config/config-schema.js';
import { listenError } from '../config/listen-error.js';
import type { Logger } from '../telemetry/create-logger.js';
import { startAdminServer } from './admin-server.js';
import { AssertionKeyring } from './assertion-keyring.js';
import { Readiness } from './health-service.js';
import { removeStaleSocket } from './remove-stale-socket.js';

/** Messages between the cluster primary and its workers. */
export type ClusterMessage =
  /** A worker's readiness changed (it can decide, or no longer can: see start-authzd's readiness gate). */
  | { type: 'authzd:ready' }
  | { type: 'authzd:not-ready' }
  | { type: 'authzd:shutdown' }
  | { type: 'authzd:reload' }
  /** The decision-assertion keys (private JWKs, current last): the primary owns and rotates them. */
  | { type: 'authzd:assertion-keys'; keys: JWK[] }
  /** A worker asking for the assertion keys, once it listens for them. */
  | { type: 'authzd:need-assertion-keys' };

export const isClusterMessage = (m: unknown): m is ClusterMessage =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { type?: unknown }).type === 'string' &&
  (m as { type: string }).type.startsWith('authzd:');

/**
 * --workers N: N processes each serving ext_authz on the shared listener (the kernel hands each new
 * connection to one of them; Envoy opens one HTTP/2 connection per Envoy worker thread, see
 * docs/configuration.md). Each worker has its own Cedar engine, caches and key sets. The primary serves the
 * admin endpoints: readiness is on only while every worker is ready, and /metrics aggregates the workers.
 * A worker that dies is replaced; SIGTERM drains every worker before the primary exits.
 */
export async function runCluster(config: Config, logger: Logger): Promise<never> {
  const readiness = new Readiness();
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  let stopping = false;
  const update = () => readiness.set(!stopping && ready.size === config.grpc.workers ? 'SERVING' : 'NOT_SERVING');

  const broadcast = (message: ClusterMessage) => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send(message);
  };
  // One set of assertion keys for all workers, so one JWKS (served here) verifies whatever any of them signs.
  let keyring: AssertionKeyring | undefined;
  if (config.assertions.enabled) {
    keyring = new AssertionKeyring(config.assertions);
    await keyring.rotate();
    const rotation = setInterval(async () => {
      await keyring!.rotate();
      broadcast({ type: 'authzd:assertion-keys', keys: keyring!.export() });
    }, config.assertions.rotateMinutes * 60_000);
    rotation.unref();
  }
  const admin = await startAdminServer(config.admin.address, {
    // Text only: the aggregation sums the workers' histograms and keeps no exemplars.
    registry: {
      metrics: async () => ({ text: await aggregator.clusterMetrics(), contentType: aggregator.contentType }),
    },
    readiness,
    ...(keyring !== undefined ? { jwks: () => keyring.jwks() } : {}),
  }).catch((err: unknown) => {
    throw listenError('admin.address (--admin-addr)', config.admin.address, err);
  });

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (isClusterMessage(message) && message.type === 'authzd:need-assertion-keys' && keyring !== undefined) {
        worker.send({ type: 'authzd:assertion-keys', keys: keyring.export() } satisfies ClusterMessage);
      }
      if (isClusterMessage(message) && message.type === 'authzd:ready' && !ready.has(worker.id)) {
        ready.add(worker.id);
        update();
        if (ready.size === config.grpc.workers)
          logger.info({ workers: ready.size, adminPort: admin.port }, 'authzd cluster ready');
      }
      if (isClusterMessage(message) && message.type === 'authzd:not-ready' && ready.delete(worker.id)) update();
    });
    worker.on('exit', (code, signal) => {
      ready.delete(worker.id);
      update();
      if (stopping) return;
      logger.error({ worker: worker.id, code, signal }, 'worker exited; starting a replacement');
      setTimeout(fork, 1_000).unref();
    });
    return worker;
  };
  // The primary owns the shared listener: clear a socket file a crashed run left behind before workers bind.
  await removeStaleSocket(config.grpc.address);
  if (config.http.address !== undefined) await removeStaleSocket(config.http.address);
  for (let i = 0; i < config.grpc.workers; i++) fork();

  process.on('SIGHUP', () => broadcast({ type: 'authzd:reload' }));
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    update();
    logger.info({ signal }, 'signal received; draining workers');
    const exits = Object.values(cluster.workers ?? {}).map(
      (w) => new Promise<void>((resolve) => (w!.isDead() ? resolve() : w!.once('exit', () => resolve()))),
    );
    broadcast({ type: 'authzd:shutdown' });
    const limit = config.shutdown.drainDelayMs + config.shutdown.drainTimeoutMs + 5_000;
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, limit))]);
    await admin.close();
    logger.info('shutdown complete');
    logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return new Promise<never>(() => {});
}
