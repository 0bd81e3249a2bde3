// Every metric the control plane exports. docs/control-plane.md lists the same names;
// test/unit/control-plane/control-plane-docs-sync.test.ts keeps them in step. Labels are closed sets
// (results, route names, status codes, reason codes), never request data.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type PublishResult = 'published' | 'unchanged' | 'rejected' | 'failed';
export type PublishTrigger = 'startup' | 'watch' | 'api' | 'upload' | 'signal';

export function createControlPlaneMetrics(registry: Registry) {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    publishes: new Counter({
      name: 'authzd_cp_publishes_total',
      help: 'Publication attempts, by result (published, unchanged, rejected, failed) and trigger (startup, watch, api, upload, signal).',
      labelNames: ['result', 'trigger'] as const,
      registers,
    }),
    publishRejections: new Counter({
      name: 'authzd_cp_publish_rejections_total',
      help: 'Policy sets refused by the publication gate, by reason (policy_unreadable, policy_invalid, policy_tests_invalid, policy_tests_failed, bundle_unbuildable) and trigger.',
      labelNames: ['reason', 'trigger'] as const,
      registers,
    }),
    revision: new Gauge({
      name: 'authzd_cp_bundle_revision',
      help: 'Revision of the bundle being served (0 before the first).',
      registers,
    }),
    lastPublish: new Gauge({
      name: 'authzd_cp_bundle_last_publish_timestamp_seconds',
      help: 'Unix time the served bundle was published.',
      registers,
    }),
    policyProblems: new Gauge({
      name: 'authzd_cp_policy_problems',
      help: 'Problems found in the last rejected policy set; 0 after a successful publication.',
      registers,
    }),
    revocationsLive: new Gauge({
      name: 'authzd_cp_revocations_live',
      help: 'Revocation entries not yet expired.',
      registers,
    }),
    revocationSeq: new Gauge({
      name: 'authzd_cp_revocation_seq',
      help: 'Highest revocation sequence number issued.',
      registers,
    }),
    revocationsAdded: new Counter({
      name: 'authzd_cp_revocations_added_total',
      help: 'Revocation entries created through this replica.',
      registers,
    }),
    waiters: new Gauge({
      name: 'authzd_cp_long_poll_waiters',
      help: 'Long-poll requests parked, by feed (bundle, revocations).',
      labelNames: ['feed'] as const,
      registers,
    }),
    httpRequests: new Counter({
      name: 'authzd_cp_http_requests_total',
      help: 'HTTP requests answered, by route name and status code.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'authzd_cp_http_request_duration_seconds',
      help: 'Time to answer an HTTP request by route name; long polls include their wait.',
      labelNames: ['route'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers,
    }),
    authorizeDecisions: new Counter({
      name: 'authzd_cp_authorize_decisions_total',
      help: 'POST /v1/authorize answers, by decision (allow, deny) and reason code.',
      labelNames: ['decision', 'reason'] as const,
      registers,
    }),
    decisionsAppended: new Counter({
      name: 'authzd_cp_decisions_appended_total',
      help: 'Decision events appended to the decision log through this replica.',
      registers,
    }),
    decisionBatches: new Counter({
      name: 'authzd_cp_decision_batches_total',
      help: 'POST /v1/decisions bodies, by result (appended, invalid, failed).',
      labelNames: ['result'] as const,
      registers,
    }),
    decisionFilesRemoved: new Counter({
      name: 'authzd_cp_decision_files_removed_total',
      help: 'Daily decision files deleted by retention (--decision-retention-days).',
      registers,
    }),
    ready: new Gauge({
      name: 'authzd_cp_ready',
      help: '1 while a bundle is being served, the store can be reached and the server is not shutting down, else 0.',
      registers,
    }),
    storeUp: new Gauge({
      name: 'authzd_cp_store_up',
      help: '1 while the store can be reached (always 1 for the directory store), else 0.',
      registers,
    }),
    storeQueries: new Counter({
      name: 'authzd_cp_store_queries_total',
      help: 'Statements sent to the PostgreSQL store by this replica (0 with the directory store).',
      registers,
    }),
    traceSpansExported: new Counter({
      name: 'authzd_cp_trace_spans_exported_total',
      help: 'Spans the OpenTelemetry collector accepted (tracing on).',
      registers,
    }),
    traceSpansDropped: new Counter({
      name: 'authzd_cp_trace_spans_dropped_total',
      help: 'Spans that will never reach the collector, by reason (queue_full, export_failed).',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

export type ControlPlaneMetrics = ReturnType<typeof createControlPlaneMetrics>;
