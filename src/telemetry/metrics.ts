// Every metric authzd exports. docs/metrics.md lists the same names; test/unit/docs-sync.test.ts keeps
// them in step. Labels are bounded: reasons are a closed set, routes and issuers come from configuration,
// never from request data.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

// Sub-millisecond buckets: the warm path is tens of microseconds.
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createMetrics(registry: Registry) {
  const registers = [registry];
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return {
    decisions: new Counter({
      name: 'authzd_decisions_total',
      help: 'Check calls answered, by decision (allow, deny, error), reason code, route id and deciding stage.',
      labelNames: ['decision', 'reason', 'route', 'source'] as const,
      registers,
    }),
    checkDuration: new Histogram({
      name: 'authzd_check_duration_seconds',
      help: 'Time from receiving a Check call to having its answer, by decision and route id.',
      labelNames: ['decision', 'route'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    policyEvaluationDuration: new Histogram({
      name: 'authzd_policy_evaluation_duration_seconds',
      help: 'Time spent inside the Cedar engine per evaluation.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    tokenValidationFailures: new Counter({
      name: 'authzd_token_validation_failures_total',
      help: 'Presented tokens that failed validation, by reason code.',
      labelNames: ['reason'] as const,
      registers,
    }),
    inflight: new Gauge({
      name: 'authzd_checks_in_flight',
      help: 'Check calls received and not yet answered.',
      registers,
    }),
    policyInfo: new Gauge({
      name: 'authzd_policy_info',
      help: 'Always 1, labelled with the active policy version.',
      labelNames: ['version'] as const,
      registers,
    }),
    policyActivations: new Counter({
      name: 'authzd_policy_activations_total',
      help: 'Attempts to activate a policy set, by result (success, failure).',
      labelNames: ['result'] as const,
      registers,
    }),
    policyLastActivation: new Gauge({
      name: 'authzd_policy_last_activation_timestamp_seconds',
      help: 'Unix time of the last successful policy activation.',
      registers,
    }),
    policies: new Gauge({
      name: 'authzd_policies',
      help: 'Policies in the active set.',
      registers,
    }),
    entities: new Gauge({
      name: 'authzd_entities',
      help: 'Entities in the active entity store.',
      registers,
    }),
    ready: new Gauge({
      name: 'authzd_ready',
      help: '1 when a policy set is active and the server accepts checks, else 0.',
      registers,
    }),
    auditEvents: new Counter({
      name: 'authzd_audit_events_total',
      help: 'Decision events handed to the audit log.',
      registers,
    }),
    auditDropped: new Counter({
      name: 'authzd_audit_events_dropped_total',
      help: 'Decision events dropped because the audit destination could not keep up.',
      registers,
    }),
    jwksRefreshes: new Counter({
      name: 'authzd_jwks_refreshes_total',
      help: 'Background and on-demand key-set fetches of remote JWKS, by issuer and result (ok, error).',
      labelNames: ['issuer', 'result'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
