import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { Registry } from 'prom-client';
import { type AuditLog, createAuditLog } from '../audit/audit-log.js';
import { CheckPipeline } from '../check/check-pipeline.js';
import type { CheckRequestMessage } from '../check/check-request.js';
import type { CheckOutcome } from '../check/decision.js';
import { httpAnswer } from '../check/http-answer.js';
import { recordOutcome } from '../check/record-outcome.js';
import { toCheckResponse } from '../check/to-check-response.js';
import type { Config } from '../config/config-schema.js';
import { compilePolicyModel } from '../policy/compile-policy-model.js';
import { type PolicyFiles, readPolicyDir } from '../policy/policy-files.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import { PolicyStore } from '../policy/policy-store.js';
import { createLogger, type Logger } from '../telemetry/create-logger.js';
import { createThrottle } from '../telemetry/create-throttle.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { TokenVerifier } from '../token/token-verifier.js';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { healthHandlers, Readiness } from './health-service.js';
import { loadAuthzdProtos } from './load-protos.js';

/** The example policies shipped in the package: the default when no --policies is given. */
export const EMBEDDED_POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

export interface AuthzdDeps {
  readonly registry?: Registry;
  readonly logger?: Logger;
  readonly audit?: AuditLog;
  readonly now?: () => number;
}

export interface Authzd {
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly readiness: Readiness;
  readonly logger: Logger;
  readonly store: PolicyStore;
  /** Compiles and activates a policy set; on failure the active set stays and the error is thrown. */
  activate(files: PolicyFiles, version?: string): string;
  /** Re-reads the configured policy directory and activates it. */
  reloadPolicies(): Promise<string>;
  /** SIGTERM semantics: not ready, drain in-flight checks, flush the audit log, close listeners. */
  shutdown(): Promise<void>;
}

export async function startAuthzd(config: Config, deps: AuthzdDeps = {}): Promise<Authzd> {
  const now = deps.now ?? Date.now;
  const registry = deps.registry ?? new Registry();
  const metrics = createMetrics(registry);
  const logger = deps.logger ?? createLogger(config.log.level);
  const audit =
    deps.audit ??
    createAuditLog(config.audit, {
      onWritten: () => metrics.auditEvents.inc(),
      onDropped: (n) => metrics.auditDropped.inc(n),
    });
  const readiness = new Readiness();
  readiness.watch((s) => metrics.ready.set(s === 'SERVING' ? 1 : 0));
  metrics.ready.set(0);

  const verifier = new TokenVerifier(config.tokens, {
    now,
    onRefresh: (issuer, result) => metrics.jwksRefreshes.inc({ issuer, result }),
  });
  if (verifier.issuerCount === 0) logger.warn('no token issuers configured: every HTTP request will be denied with token_issuer_unknown');

  const engine = new PolicyEngine({ validateRequests: config.policies.validateRequests });
  const store = new PolicyStore(engine);
  const policyDir = config.policies.directory ?? EMBEDDED_POLICIES;

  const activate = (files: PolicyFiles, version?: string): string => {
    const started = process.hrtime.bigint();
    try {
      const model = compilePolicyModel(files, version);
      const previous = store.version;
      store.activate(model);
      metrics.policyActivations.inc({ result: 'success' });
      if (previous !== undefined) metrics.policyInfo.remove({ version: previous });
      metrics.policyInfo.set({ version: model.version }, 1);
      metrics.policyLastActivation.set(now() / 1000);
      metrics.policies.set(Object.keys(model.policies).length);
      metrics.entities.set(model.entities.size);
      for (const warning of model.warnings) logger.warn({ version: model.version }, warning);
      logger.info(
        { version: model.version, previous, policies: Object.keys(model.policies).length, routes: model.routes.routes.length, entities: model.entities.size, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        'policy set activated',
      );
      return model.version;
    } catch (err) {
      metrics.policyActivations.inc({ result: 'failure' });
      logger.error({ err: err instanceof Error ? err.message : String(err), active: store.version }, 'policy set rejected; the active set keeps serving');
      throw err;
    }
  };
  const reloadPolicies = async () => activate(await readPolicyDir(policyDir));
  await reloadPolicies();

  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier,
    now,
    newId: randomUUID,
    onEvaluation: (s) => metrics.policyEvaluationDuration.observe(s),
  });
  const sinks = { metrics, audit, logger, throttle: createThrottle(10_000, now) };

  const protos = loadAuthzdProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.grpc.maxReceiveMessageBytes,
  });
  let inflight = 0;
  let drained: (() => void) | undefined;
  server.addService(protos.authorization, {
    Check(call: grpc.ServerUnaryCall<CheckRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const started = process.hrtime.bigint();
      inflight++;
      metrics.inflight.inc();
      pipeline
        .check(call.request)
        .catch((err: unknown): CheckOutcome => ({ kind: 'error', failure: { id: randomUUID(), reason: 'internal_error', policyVersion: store.version, detail: String(err) } }))
        .then((outcome) => {
          const latency = Number(process.hrtime.bigint() - started) / 1e9;
          try {
            recordOutcome(outcome, latency, sinks);
          } catch (err) {
            logger.error({ err: String(err) }, 'recording a decision failed');
          }
          if (outcome.kind === 'error') {
            const code = outcome.failure.reason === 'internal_error' ? grpc.status.INTERNAL : grpc.status.UNAVAILABLE;
            callback({ code, details: outcome.failure.reason });
          } else {
            callback(null, toCheckResponse(outcome.decision, httpAnswer(outcome.decision, config)));
          }
        })
        .finally(() => {
          inflight--;
          metrics.inflight.dec();
          if (inflight === 0) drained?.();
        });
    },
  });
  server.addService(protos.health, healthHandlers(readiness));
  if (config.grpc.reflection) new ReflectionService(protos.definition).addToServer(server);

  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(config.grpc.address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  let admin: AdminServer;
  try {
    admin = await startAdminServer(config.admin.address, { registry, readiness });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  readiness.set('SERVING');
  logger.info({ grpc: config.grpc.address, grpcPort, admin: config.admin.address, adminPort: admin.port, version: store.version }, 'authzd ready');

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      readiness.set('NOT_SERVING');
      logger.info({ inflight, drainDelayMs: config.shutdown.drainDelayMs }, 'shutting down: readiness off, draining');
      // Envoy and the kubelet need a moment to see NOT_SERVING before the listener goes away.
      if (config.shutdown.drainDelayMs > 0) await sleep(config.shutdown.drainDelayMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ inflight }, 'drain timeout; closing remaining calls');
          server.forceShutdown();
          resolve();
        }, config.shutdown.drainTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (inflight > 0) await new Promise<void>((resolve) => (drained = resolve));
      verifier.close();
      await admin.close();
      await audit.close();
      logger.info('shutdown complete');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })());

  return {
    grpcPort,
    adminPort: admin.port,
    metrics,
    registry,
    readiness,
    logger,
    store,
    activate,
    reloadPolicies,
    shutdown,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
