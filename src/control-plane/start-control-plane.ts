import { createPublicKey, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';

import { Registry } from 'prom-client';

import { readSigningKey } from '../bundle/bundle-keys.js';
import type { TrustedKey } from '../bundle/verify-bundle.js';
import { ConfigError } from '../config/config-error.js';
import { listenError } from '../config/listen-error.js';
import { TracingConfigSchema } from '../config/tracing-config-schema.js';
import { CedarWasmEngine } from '../engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../engine/policy-store.js';
import { compilePolicyModel, contentVersion } from '../policy/compile-policy-model.js';
import { type PolicyFiles, readPolicyDir } from '../policy/policy-files.js';
import { type PolicyTestFiles, readPolicyTests } from '../policy-test/read-policy-tests.js';
import { createLogger, type Logger } from '../telemetry/create-logger.js';
import { openTracing } from '../telemetry/open-tracing.js';
import type { RequestSpan } from '../telemetry/request-tracer.js';
import type { Tracing } from '../telemetry/start-tracing.js';
import { type Environment, resolveTracingSettings } from '../telemetry/tracing-settings.js';
import { listenAddress } from '../util/listen-address.js';
import { bearerTokenCheck } from './bearer-token-check.js';
import { BundlePublisher, type PublishedBundle, type PublishOutcome } from './bundle-publisher.js';
import { ControlPlaneApi } from './control-plane-api.js';
import { type ControlPlaneMetrics, createControlPlaneMetrics, type PublishTrigger } from './control-plane-metrics.js';
import { type ControlPlaneOptions, DEFAULT_DECISION_RETENTION_DAYS } from './control-plane-options.js';
import type { ControlPlaneStore } from './store/control-plane-store.js';
import { openControlPlaneStore } from './store/open-control-plane-store.js';
import type { RevocationLog } from './store/revocation-log.js';
import { validatePolicyFiles } from './validate-policy-files.js';
import { WaitList } from './wait-list.js';
import { watchPolicyDir } from './watch-policy-dir.js';

export interface ControlPlaneDeps {
  readonly registry?: Registry;
  readonly logger?: Logger;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Where the OpenTelemetry variables (OTEL_*) are read; default process.env. */
  readonly env?: Environment;
}

export interface ControlPlane {
  readonly port: number;
  /** Port of the admin listener (--admin-addr); 0 when there is none or it is a Unix socket. */
  readonly adminPort: number;
  readonly metrics: ControlPlaneMetrics;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly publisher: BundlePublisher;
  readonly revocations: RevocationLog;
  readonly store: ControlPlaneStore;
  /** Publishes the policy directory now, as `POST .../publish` without a body does (SIGHUP). */
  publishDirectory(): Promise<PublishOutcome>;
  /** SIGTERM: not ready, stop accepting, answer parked long polls, drain, stop watchers. */
  shutdown(): Promise<void>;
}

/**
 * Starts the control plane: checks key, store and policies (every problem in one ConfigError), serves the
 * recorded bundle or publishes the directory, then listens and follows the policy directory and the
 * changes other replicas make to the store (new pointers, new revocations).
 */
export async function startControlPlane(
  options: ControlPlaneOptions,
  deps: ControlPlaneDeps = {},
): Promise<ControlPlane> {
  const now = deps.now ?? Date.now;
  const registry = deps.registry ?? new Registry();
  const metrics = createControlPlaneMetrics(registry);
  const logger = (deps.logger ?? createLogger('info')).child({
    component: 'control-plane',
    bundle: options.bundleName,
  });
  const timing = options.timing;
  // Tracing is settled once, here; off, the OpenTelemetry SDK is never loaded.
  const tracingSettings = resolveTracingSettings(
    options.tracing ?? TracingConfigSchema.parse(undefined),
    deps.env ?? process.env,
    'authzd-control-plane',
  );
  let tracing: Tracing | undefined;
  if (tracingSettings !== undefined)
    tracing = await openTracing(tracingSettings, {
      metrics,
      logger,
      now,
      droppedMetric: 'authzd_cp_trace_spans_dropped_total',
    });
  const tracer = tracing?.requests;

  const problems: string[] = [];
  const signing = await readSigningKey(options.signingKeyFile).catch((err: unknown) => collect(err, problems));
  let trustedKey: TrustedKey | undefined;
  if (signing !== undefined) {
    // The public half verifies every bundle read back from disk before it is served.
    const publicKey = createPublicKey(await readFile(options.signingKeyFile, 'utf8'));
    trustedKey = { kid: options.kid, key: publicKey, alg: signing.alg };
  }
  const store = await openControlPlaneStore(options.store, {
    bundleName: options.bundleName,
    now,
    logger,
    revocationGraceSeconds: timing.revocationGraceSeconds,
    decisionRetentionDays: options.decisionRetentionDays ?? DEFAULT_DECISION_RETENTION_DAYS,
    pollMs: timing.pollMs,
    revocationRescanMs: timing.revocationRescanMs,
    healthCheckMs: timing.storeHealthCheckMs,
    onQuery: () => metrics.storeQueries.inc(),
  }).catch((err: unknown) => collect(err, problems));
  const initialFiles = await readPolicyDir(options.policies).catch((err: unknown) => {
    problems.push(
      `--policies ${options.policies}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return undefined;
  });
  if (
    problems.length > 0 ||
    signing === undefined ||
    trustedKey === undefined ||
    store === undefined ||
    initialFiles === undefined
  ) {
    await store?.close();
    throw new ConfigError(problems);
  }
  const { revocations, decisions } = store;
  metrics.storeUp.set(store.healthy ? 1 : 0);
  try {
    metrics.decisionFilesRemoved.inc(await decisions.removeExpired());
    await revocations.compact();
  } catch (err) {
    await store.close();
    throw err;
  }
  logger.info({ store: store.kind, where: store.description }, 'store opened');

  // One engine for the process: /v1/authorize's policy store and the policy tests of the publication gate.
  const engine = new CedarWasmEngine({ validateRequests: true });
  // The tests of a set read from the directory, keyed by its files: uploads carry no tests, so they have none.
  const directoryTests = new WeakMap<PolicyFiles, PolicyTestFiles>();
  const publisher = await BundlePublisher.open({
    repository: store.bundles,
    scope: options.scope,
    signingKey: signing.key,
    alg: signing.alg,
    kid: options.kid,
    trustedKey,
    history: options.history,
    validate: (files) => validatePolicyFiles(files, { tests: directoryTests.get(files), engine }),
    logger,
    now,
    ...(options.minRevision !== undefined ? { minRevision: options.minRevision } : {}),
  });

  const policyStore = new PolicyStore(engine);
  const bundleWaiters = new WaitList({
    tickMs: timing.waitTickMs,
    now,
    onSize: (n) => metrics.waiters.set({ feed: 'bundle' }, n),
  });
  const revocationWaiters = new WaitList({
    tickMs: timing.waitTickMs,
    now,
    onSize: (n) => metrics.waiters.set({ feed: 'revocations' }, n),
  });
  metrics.waiters.set({ feed: 'bundle' }, 0);
  metrics.waiters.set({ feed: 'revocations' }, 0);

  const serve = (bundle: PublishedBundle) => {
    metrics.revision.set(bundle.revision);
    metrics.lastPublish.set(Date.parse(bundle.created) / 1000);
    // Waiters first: compiling the set for /v1/authorize takes tens of milliseconds they need not wait.
    bundleWaiters.wakeAll('changed');
    try {
      policyStore.activate(compilePolicyModel(bundle.files, bundle.version));
    } catch (err) {
      // Published sets passed validation; this only happens when a stored bundle predates a stricter check.
      logger.error(
        { revision: bundle.revision, err: (err as Error).message },
        'served bundle could not be activated for /v1/authorize',
      );
    }
  };
  publisher.onChange(serve);
  if (publisher.current !== undefined) serve(publisher.current);

  const publish = async (
    given: PolicyFiles | undefined,
    trigger: PublishTrigger,
    parent?: RequestSpan,
  ): Promise<PublishOutcome> => {
    if (tracer === undefined) return publishUntraced(given, trigger);
    const span = tracer.internal('authzd.publish', parent, { 'authzd.publish.trigger': trigger });
    try {
      const outcome = await publishUntraced(given, trigger);
      span.setAttributes(
        outcome.result === 'rejected'
          ? { 'authzd.publish.result': 'rejected', 'authzd.publish.reason': outcome.reason }
          : {
              'authzd.publish.result': outcome.result,
              'authzd.bundle.revision': outcome.bundle.revision,
              'authzd.bundle.etag': outcome.bundle.etag,
            },
      );
      span.end(outcome.result === 'rejected' ? { failed: outcome.reason } : {});
      return outcome;
    } catch (err) {
      span.end({ failed: 'publication_failed' });
      throw err;
    }
  };
  const publishUntraced = async (given: PolicyFiles | undefined, trigger: PublishTrigger): Promise<PublishOutcome> => {
    let files = given;
    if (files === undefined) {
      try {
        files = await readPolicyDir(options.policies);
      } catch (err) {
        const problem = `policy directory ${options.policies}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        return record({ result: 'rejected', reason: 'policy_unreadable', problems: [problem] }, trigger);
      }
    }
    if (trigger !== 'upload') {
      try {
        directoryTests.set(files, await readPolicyTests(options.policies));
      } catch (err) {
        const problem = `policy directory ${options.policies}: cannot read tests/: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        return record({ result: 'rejected', reason: 'policy_unreadable', problems: [problem] }, trigger);
      }
    }
    let outcome: PublishOutcome;
    try {
      outcome = await publisher.publish(files, { source: trigger === 'upload' ? 'upload' : 'directory' });
    } catch (err) {
      metrics.publishes.inc({ result: 'failed', trigger });
      logger.error({ trigger, err: (err as Error).message }, 'publication failed');
      throw err;
    }
    return record(outcome, trigger);
  };
  const record = (outcome: PublishOutcome, trigger: PublishTrigger): PublishOutcome => {
    metrics.publishes.inc({ result: outcome.result, trigger });
    if (outcome.result === 'rejected') {
      metrics.policyProblems.set(outcome.problems.length);
      metrics.publishRejections.inc({ reason: outcome.reason, trigger });
      // `served`: the revision sidecars keep getting, null when there is none (at start-up the process then exits).
      logger.error(
        {
          trigger,
          reason: outcome.reason,
          ...(outcome.tests !== undefined ? { tests: outcome.tests } : {}),
          problems: outcome.problems,
          served: publisher.current?.revision ?? null,
        },
        'policy set rejected; not published',
      );
    } else if (outcome.result === 'published') {
      metrics.policyProblems.set(0);
      logger.info({ trigger, revision: outcome.bundle.revision, digest: outcome.bundle.digest }, 'bundle published');
    } else {
      metrics.policyProblems.set(0);
    }
    return outcome;
  };

  const initial = await publish(initialFiles, 'startup');
  if (initial.result === 'rejected' && publisher.current === undefined) {
    throw new ConfigError([
      `--policies ${options.policies}: the policy set is rejected and no earlier bundle is recorded:`,
      ...initial.problems,
    ]);
  }

  const stops: (() => void)[] = [];
  stops.push(
    watchPolicyDir(options.policies, async (files) => void (await publish(files, 'watch')), {
      debounceMs: timing.watchDebounceMs,
      pollMs: timing.pollMs,
      initialVersion: `${contentVersion(initialFiles)}+${contentVersion(await readPolicyTests(options.policies).catch(() => new Map()))}`,
      logger,
    }),
  );
  // The store says "something changed" (another replica, or this one); the publisher and the revocation log
  // re-read, and their own change events wake the long polls. A burst of signals costs one re-read at a time
  // plus one after it, never a queue of them.
  const failed = (what: string) => (err: unknown) => logger.error({ err: (err as Error).message }, `${what} failed`);
  stops.push(
    store.changes.on(
      'bundle',
      coalesce(() => publisher.sync(), failed('bundle sync')),
    ),
  );
  stops.push(
    store.changes.on(
      'revocations',
      coalesce(() => revocations.scan(), failed('revocation rescan')),
    ),
  );
  stops.push(revocations.onChange(() => revocationWaiters.wakeAll('changed')));
  stops.push(
    store.onHealthChange((healthy) => {
      metrics.storeUp.set(healthy ? 1 : 0);
      metrics.ready.set(api.ready ? 1 : 0);
    }),
  );
  store.follow();
  const compaction = setInterval(
    () => void revocations.compact().catch(failed('revocation compaction')),
    timing.revocationCompactMs,
  ).unref();
  const retention = setInterval(
    () =>
      void decisions
        .removeExpired()
        .then((removed) => metrics.decisionFilesRemoved.inc(removed), failed('decision retention')),
    timing.decisionRetentionCheckMs,
  ).unref();
  stops.push(
    () => clearInterval(compaction),
    () => clearInterval(retention),
  );

  const isAdmin = bearerTokenCheck([options.adminToken]);
  // Reads are open unless a read token is configured; the admin token may read as well.
  const isReader =
    options.readToken === undefined ? () => true : bearerTokenCheck([options.readToken, options.adminToken]);
  // Appending decisions is never open: without an ingest token only the admin token may.
  const isIngester = bearerTokenCheck(
    options.ingestToken === undefined ? [options.adminToken] : [options.ingestToken, options.adminToken],
  );
  const api = new ControlPlaneApi({
    bundleName: options.bundleName,
    publisher,
    publish,
    revocations,
    engine,
    policyStore,
    bundleWaiters,
    revocationWaiters,
    isAdmin,
    isReader,
    isIngester,
    decisions,
    isStoreHealthy: () => store.healthy,
    metrics,
    registry,
    logger,
    now,
    newId: randomUUID,
    ...(tracer !== undefined ? { tracer } : {}),
  });

  // With an admin listener, the main one (what sidecars reach) cannot publish or revoke.
  const server = http.createServer(api.handlerFor(options.adminAddress === undefined ? 'all' : 'read'));
  const adminServer = options.adminAddress === undefined ? undefined : http.createServer(api.handlerFor('all'));
  const servers = [server, ...(adminServer !== undefined ? [adminServer] : [])];
  for (const s of servers) s.keepAliveTimeout = 65_000;
  let port: number;
  let adminPort = 0;
  try {
    port = await listen(server, '--addr', options.address);
    if (adminServer !== undefined) adminPort = await listen(adminServer, '--admin-addr', options.adminAddress!);
  } catch (err) {
    for (const stop of stops) stop();
    for (const s of servers) s.close();
    await store.close();
    throw err;
  }
  metrics.ready.set(api.ready ? 1 : 0);
  logger.info(
    {
      address: options.address,
      port,
      ...(options.adminAddress !== undefined ? { adminAddress: options.adminAddress, adminPort } : {}),
      revision: publisher.current?.revision,
      revocationSeq: revocations.seq,
      store: store.kind,
      readTokenRequired: options.readToken !== undefined,
    },
    'control plane ready',
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      logger.info(
        { waiters: bundleWaiters.size + revocationWaiters.size },
        'shutting down: answering long polls, draining',
      );
      const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      api.close();
      metrics.ready.set(0);
      for (const stop of stops) stop();
      for (const s of servers) s.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const s of servers) s.closeAllConnections();
      }, timing.drainTimeoutMs).unref();
      await closed;
      clearTimeout(timer);
      // What is queued goes out now (bounded by the export timeout).
      await tracing?.shutdown();
      await store.close();
      logger.info('shutdown complete');
    })());

  return {
    port,
    adminPort,
    metrics,
    registry,
    logger,
    publisher,
    revocations,
    store,
    publishDirectory: () => publish(undefined, 'signal'),
    shutdown,
  };
}

/** Binds `server`; a failure is a ConfigError naming the flag and the address. Resolves with the TCP port (0 for a socket). */
async function listen(server: http.Server, flag: string, address: string): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenAddress(address), () => resolve());
    });
  } catch (err) {
    throw listenError(flag, address, err);
  }
  const bound = server.address();
  return typeof bound === 'object' && bound !== null ? bound.port : 0;
}

/** A start-up failure as problems for the one ConfigError; anything unexpected is rethrown. */
function collect(err: unknown, problems: string[]): undefined {
  if (err instanceof ConfigError) problems.push(...err.problems);
  else throw err;
  return undefined;
}

/**
 * `task` run on every call, but never twice at once: calls while it runs collapse into one more run after
 * it (which sees everything those calls announced).
 */
function coalesce(task: () => Promise<unknown>, onError: (err: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}
