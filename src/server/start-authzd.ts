import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { Registry } from 'prom-client';

import { type Activate, createActivator } from '../activation/policy-activator.js';
import { type AuditLog, createAuditLog } from '../audit/audit-log.js';
import { startDecisionShipper } from '../audit/decision-shipper.js';
import { BundleFollower } from '../bundle/bundle-follower.js';
import { DEFAULT_SCOPE } from '../bundle/bundle-format.js';
import { CheckPipeline } from '../check/check-pipeline.js';
import { DecisionCache } from '../check/decision-cache.js';
import { RateLimiter } from '../check/rate-limiter.js';
import { RemoteDecider } from '../check/remote-decider.js';
import { RequestRate } from '../check/request-rate.js';
import { createPeerTrust } from '../check/trusted-peer.js';
import type { Config } from '../config/config-schema.js';
import { listenError } from '../config/listen-error.js';
import { readSecret } from '../config/read-secret.js';
import { createDecisionEngine } from '../engine/create-decision-engine.js';
import { PolicyStore } from '../engine/policy-store.js';
import { REVOCATION_CACHE_FILE, RevocationCache } from '../revocation/revocation-cache.js';
import { RevocationFollower } from '../revocation/revocation-follower.js';
import { RevocationList } from '../revocation/revocation-list.js';
import { createLogger, type Logger } from '../telemetry/create-logger.js';
import { createThrottle } from '../telemetry/create-throttle.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { registryExposition } from '../telemetry/metrics-exposition.js';
import { openTracing } from '../telemetry/open-tracing.js';
import type { Tracing } from '../telemetry/start-tracing.js';
import { type Environment, resolveTracingSettings } from '../telemetry/tracing-settings.js';
import { TokenVerifier } from '../token/token-verifier.js';
import { isLocalOnly, listenAddress } from '../util/listen-address.js';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { AssertionKeyring, createAsserter } from './assertion-keyring.js';
import { createCheckRunner } from './check-runner.js';
import { grpcCheckService } from './grpc-check-service.js';
import { healthHandlers, Readiness } from './health-service.js';
import { startHttpAuthzServer } from './http-authz-server.js';
import { loadAuthzdProtos } from './load-protos.js';
import { prepareCacheDir } from './prepare-cache-dir.js';
import { ReadinessGate } from './readiness-gate.js';
import { removeStaleSocket } from './remove-stale-socket.js';
import { startShadow } from './start-shadow.js';

/** The example policies shipped in the package: the default when no --policies is given. */
export const EMBEDDED_POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

export interface AuthzdDeps {
  readonly registry?: Registry;
  readonly logger?: Logger;
  readonly audit?: AuditLog;
  readonly now?: () => number;
  /** false in a cluster worker: the primary serves the admin endpoints for all workers. */
  readonly adminServer?: boolean;
  /** Decision-assertion keys owned elsewhere (a cluster worker gets the primary's); default: own, rotated here. */
  readonly assertionKeys?: AssertionKeyring;
  /** Where the OpenTelemetry variables (OTEL_*) are read; default process.env. */
  readonly env?: Environment;
}

export interface Authzd {
  readonly grpcPort: number;
  readonly adminPort: number;
  /** Port of the plain-HTTP authorization listener (0 when http.address is unset or a Unix socket). */
  readonly httpPort: number;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly readiness: Readiness;
  readonly logger: Logger;
  readonly store: PolicyStore;
  /** Verifies (bundles), compiles and activates a policy set; on failure the active set stays and the promise rejects. */
  activate: Activate;
  readonly revocations: RevocationList;
  /** Re-reads the configured policy directory and activates it (a no-op when policies come from bundles). */
  reloadPolicies(): Promise<string | undefined>;
  /** Makes every cached decision unusable (revocations, risk changes). */
  invalidateDecisions(): void;
  /** SIGTERM semantics: not ready, drain in-flight checks, flush the audit log, close listeners. */
  shutdown(): Promise<void>;
}

export async function startAuthzd(config: Config, deps: AuthzdDeps = {}): Promise<Authzd> {
  const now = deps.now ?? Date.now;
  const registry = deps.registry ?? new Registry();
  // Tracing is settled once, here: with it off, nothing of it exists (no SDK loaded, no span, no exemplar).
  const tracingSettings = resolveTracingSettings(config.tracing, deps.env ?? process.env, 'authzd');
  const metrics = createMetrics(registry, { exemplars: tracingSettings !== undefined });
  const logger = deps.logger ?? createLogger(config.log.level);
  let tracing: Tracing | undefined;
  if (tracingSettings !== undefined)
    tracing = await openTracing(tracingSettings, {
      metrics,
      logger,
      now,
      droppedMetric: 'authzd_trace_spans_dropped_total',
    });
  const auditErrors = createThrottle(10_000, now);
  const audit =
    deps.audit ??
    createAuditLog(config.audit, {
      onWritten: () => metrics.auditEvents.inc(),
      onDropped: (n) => metrics.auditDropped.inc(n),
      onError: (err) => {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        if (auditErrors(code))
          logger.error(
            { code, destination: config.audit.destination },
            'audit log write failed; checks go on, events beyond audit.bufferBytes are dropped',
          );
      },
    });
  const readiness = new Readiness();
  readiness.watch((s) => metrics.ready.set(s === 'SERVING' ? 1 : 0));
  metrics.ready.set(0);
  // Ready means able to decide: a policy set, a key set per issuer, a trusted revocation list (see the gate).
  const gate = new ReadinessGate(readiness, logger);
  gate.set('policy', config.bundle.url !== undefined ? 'no verified policy bundle yet' : 'no policy set active yet');

  const verifier = new TokenVerifier(config.tokens, {
    now,
    onRefresh: (issuer, result) => metrics.jwksRefreshes.inc({ issuer, result }),
    cache: config.cache.tokens,
    logger: logger.child({ component: 'jwks' }),
    cacheDir: config.tokens.cacheDir ?? config.bundle.cacheDir,
  });
  metrics.addCacheSource('token', () => verifier.cacheStats);
  const decisionCache = config.cache.decisions.maxEntries > 0 ? new DecisionCache(config.cache.decisions) : undefined;
  if (decisionCache !== undefined) metrics.addCacheSource('decision', () => decisionCache.stats);
  // Revocations and risk changes bump this; it is part of every decision-cache key.
  let epoch = 0;
  const invalidateDecisions = () => {
    epoch++;
    decisionCache?.clear();
  };
  if (verifier.issuerCount === 0)
    logger.warn('no token issuers configured: every HTTP request will be denied with token_issuer_unknown');

  // Issue-6 machinery: who may vouch for forwarded identities, rate limits, the remote tier, assertions.
  const peerTrusted = createPeerTrust(config.trustedPeers);
  const rateLimiter = new RateLimiter(100_000);
  const requestRate = new RequestRate(config.riskSignals.rateWindowSeconds, 100_000);
  const remote =
    config.remote.url === undefined
      ? undefined
      : new RemoteDecider({
          url: config.remote.url,
          token: readSecret(config.remote.tokenFile, config.remote.tokenEnv, 'remote'),
          maxConcurrent: config.remote.maxConcurrent,
          failureThreshold: config.remote.failureThreshold,
          cooldownMs: config.remote.cooldownMs,
          now,
        });
  let assertionKeys = deps.assertionKeys;
  let rotation: NodeJS.Timeout | undefined;
  if (config.assertions.enabled && assertionKeys === undefined) {
    const keyring = new AssertionKeyring(config.assertions, now);
    await keyring.rotate();
    rotation = setInterval(() => void keyring.rotate(), config.assertions.rotateMinutes * 60_000);
    rotation.unref();
    assertionKeys = keyring;
  }
  const assert =
    config.assertions.enabled && assertionKeys !== undefined
      ? createAsserter(assertionKeys, config.assertions, now)
      : undefined;

  const { engine, unverified, verifier: engineVerifier } = createDecisionEngine(config, { metrics, logger });
  // Start-up can still fail below (a policy set that does not compile, a placeholder secret): then the
  // engine verifier's thread and the tracer must not keep the process from exiting with the error.
  const releasingOnFailure = async <T>(step: () => Promise<T> | T): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      await engineVerifier?.close();
      await tracing?.shutdown();
      throw err;
    }
  };
  const store = new PolicyStore(engine);
  const policyDir = config.policies.directory ?? EMBEDDED_POLICIES;

  const activate = createActivator({
    store,
    metrics,
    logger,
    now,
    // Keys carry the version, so old entries could never be hit again; dropping them frees the memory now.
    onActivated: () => {
      decisionCache?.clear();
      gate.set('policy', undefined);
    },
  });
  const activateDirectory = async () => (await activate({ directory: policyDir })).version;
  const reloadPolicies = async (): Promise<string | undefined> => {
    if (config.bundle.url !== undefined) {
      logger.info('policy reload ignored: policies come from the bundle server');
      return store.version;
    }
    try {
      return await activateDirectory();
    } catch (err) {
      const active = store.version;
      logger.error(
        { err: err instanceof Error ? err.message : String(err), active: active ?? null, directory: policyDir },
        active !== undefined
          ? 'policy reload rejected; the active set keeps serving'
          : 'policy reload rejected; no policy set is active',
      );
      throw err;
    }
  };

  // Revocations: followed from the feed when configured; every applied change invalidates decisions.
  const revocations = new RevocationList();
  let revocationFollower: RevocationFollower | undefined;
  if (config.revocation.url !== undefined) {
    const cacheDir = config.revocation.cacheDir ?? config.bundle.cacheDir;
    const follower = new RevocationFollower({
      config: { ...config.revocation, url: config.revocation.url },
      list: revocations,
      logger: logger.child({ component: 'revocations' }),
      token: readSecret(config.revocation.tokenFile, config.revocation.tokenEnv, 'revocation'),
      cache: cacheDir !== undefined ? new RevocationCache(path.join(cacheDir, REVOCATION_CACHE_FILE)) : undefined,
      onChange: () => invalidateDecisions(),
      onPoll: (result) => {
        metrics.revocationPolls.inc({ result });
        if (result === 'ok') gate.set('revocations', undefined);
      },
      onReset: (cause) => metrics.revocationFeedResets.inc({ cause }),
      now,
    });
    // Revocations held from an earlier run are in force before the first check is answered.
    await follower.loadCache();
    metrics.setRevocationSource(() => ({ entries: revocations.size, lagSeconds: follower.lagMs() / 1000 }));
    revocationFollower = follower;
  }
  const updateReadiness = () => {
    gate.set('revocations', revocationFollower?.problem());
    const keyProblems = verifier.keySetProblems();
    for (const issuer of config.tokens.issuers) gate.set(`keys ${issuer.issuer}`, keyProblems.get(issuer.issuer));
  };
  updateReadiness();
  // Conditions that change with time (a persisted list or a key set growing too old, a key set fetched again).
  const readinessTimer = setInterval(updateReadiness, 1_000);
  readinessTimer.unref();

  // Policies: from a signed bundle server, or from a directory.
  let bundleFollower: BundleFollower | undefined;
  if (config.bundle.url !== undefined) {
    const bundle = config.bundle;
    const url = bundle.url!;
    const scope = bundle.scope ?? DEFAULT_SCOPE;
    bundleFollower = new BundleFollower({
      config: { ...bundle, url },
      logger: logger.child({ component: 'bundles' }),
      token: readSecret(bundle.tokenFile, bundle.tokenEnv, 'bundle'),
      activate: async (bytes, minRevision) => {
        const trust = {
          keys: bundle.publicKeys,
          scope,
          minRevision,
          allowRollback: bundle.allowRollback,
          maxBytes: bundle.maxBytes,
        };
        const activation = await activate({ bundle: bytes, trust });
        return activation.bundle!;
      },
      onFetch: (result) => metrics.bundleFetches.inc({ result }),
      onFailure: (failure) => metrics.bundleFailures.inc(failure),
      now,
    });
    // Start from the last verified bundle on disk, so a restart with the control plane away still serves.
    const follower = bundleFollower;
    await releasingOnFailure(async () => {
      if (bundle.cacheDir !== undefined) await prepareCacheDir(bundle.cacheDir, 'bundle.cacheDir (--bundle-cache-dir)');
      await follower.loadCache();
    });
  } else {
    // A start-up failure is reported once, by the caller that exits with it.
    await releasingOnFailure(activateDirectory);
  }

  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier,
    now,
    newId: randomUUID,
    ...(decisionCache !== undefined ? { decisionCache } : {}),
    epoch: () => epoch,
    revocations,
    ...(remote !== undefined ? { remote } : {}),
    rateLimiter,
    requestRate,
    peerTrusted,
    ...(assert !== undefined ? { assert } : {}),
    onEvaluation: (s) => metrics.policyEvaluationDuration.observe(s),
  });
  const shadow = await releasingOnFailure(() =>
    startShadow(config, {
      engine: unverified,
      verifier,
      revocations,
      peerTrusted,
      now,
      logger,
      metrics,
    }),
  );
  const sinks = { metrics, audit, logger, throttle: createThrottle(10_000, now) };
  const shipper = await releasingOnFailure(() => startDecisionShipper(config.audit, audit, { metrics, logger }));

  const protos = loadAuthzdProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.grpc.maxReceiveMessageBytes,
  });
  const runner = createCheckRunner({
    pipeline,
    sinks,
    version: () => store.version,
    now,
    defaultDeadlineMs: config.checks.defaultDeadlineMs,
    ...(shadow !== undefined ? { observe: (m, o) => shadow.observe(m, o) } : {}),
    ...(tracing !== undefined ? { tracer: tracing.checks } : {}),
  });
  server.addService(protos.authorization, grpcCheckService(runner, config));
  server.addService(protos.health, healthHandlers(readiness));
  if (config.grpc.reflection) new ReflectionService(protos.definition).addToServer(server);

  await removeStaleSocket(config.grpc.address);
  // A listener that cannot be bound ends start-up: release what runs already, so the process can exit.
  const stopFollowers = async () => {
    verifier.close();
    clearInterval(rotation);
    await Promise.all([bundleFollower?.stop(), revocationFollower?.stop(), engineVerifier?.close()]);
    await shipper?.close();
    if (deps.audit === undefined) await audit.close();
    await tracing?.shutdown();
  };
  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(config.grpc.address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  }).catch(async (err: unknown) => {
    await stopFollowers();
    throw listenError('grpc.address (--grpc-addr)', config.grpc.address, err);
  });
  let admin: AdminServer | undefined;
  if (deps.adminServer !== false) {
    try {
      admin = await startAdminServer(config.admin.address, {
        registry: { metrics: registryExposition(registry) },
        readiness,
        ...(assertionKeys !== undefined ? { jwks: () => assertionKeys.jwks() } : {}),
      });
    } catch (err) {
      server.forceShutdown();
      await stopFollowers();
      throw listenError('admin.address (--admin-addr)', config.admin.address, err);
    }
  }
  const httpAuthz =
    config.http.address === undefined
      ? undefined
      : await startHttpAuthzServer(config.http.address, config, { runner, sinks }).catch(async (err: unknown) => {
          server.forceShutdown();
          await admin?.close();
          await stopFollowers();
          throw listenError('http.address (--http-addr)', config.http.address!, err);
        });
  if (!isLocalOnly(listenAddress(config.grpc.address))) {
    // Envoy's attributes (peers, SPIFFE IDs, headers) are taken as given: whoever reaches this port can ask
    // for decisions, and with assertions on, signed ones, about requests of their own invention.
    logger.warn(
      { grpc: config.grpc.address, assertions: config.assertions.enabled },
      'the ext_authz listener is reachable beyond this host; bind it to a Unix socket or loopback unless Envoy runs elsewhere, and restrict it with a NetworkPolicy (docs/security.md)',
    );
  }
  bundleFollower?.start();
  revocationFollower?.start();
  // The first fetch of every remote key set now, not at the first token: readiness depends on it.
  void verifier.refreshKeySets().then(updateReadiness);
  // Ready once every condition holds; with bundles, revocations or remote key sets that may be later.
  gate.open(() => ({
    grpc: config.grpc.address,
    grpcPort,
    admin: config.admin.address,
    adminPort: admin?.port,
    version: store.version,
    bundleUrl: config.bundle.url,
  }));

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      gate.stop();
      clearInterval(readinessTimer);
      logger.info(
        { inflight: runner.inflight, drainDelayMs: config.shutdown.drainDelayMs },
        'shutting down: readiness off, draining',
      );
      // Envoy and the kubelet need a moment to see NOT_SERVING before the listener goes away.
      if (config.shutdown.drainDelayMs > 0) await sleep(config.shutdown.drainDelayMs);
      const httpDrained = httpAuthz?.close(config.shutdown.drainTimeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ inflight: runner.inflight }, 'drain timeout; closing remaining calls');
          server.forceShutdown();
          resolve();
        }, config.shutdown.drainTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Every accepted call is answered and recorded (its audit event written) before the log closes.
      await runner.idle();
      await httpDrained;
      verifier.close();
      clearInterval(rotation);
      await Promise.all([bundleFollower?.stop(), revocationFollower?.stop(), engineVerifier?.close()]);
      await admin?.close();
      await shipper?.close();
      await audit.close();
      // What is queued goes out now (bounded by the export timeout): the last calls' spans included.
      await tracing?.shutdown();
      logger.info('shutdown complete');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());

  return {
    grpcPort,
    adminPort: admin?.port ?? 0,
    httpPort: httpAuthz?.port ?? 0,
    metrics,
    registry,
    readiness,
    logger,
    store,
    activate,
    reloadPolicies,
    invalidateDecisions,
    revocations,
    shutdown,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
