import type { CheckOutcome } from '../contract/decision.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { Metrics, TraceExemplar } from '../telemetry/metrics.js';
import type { AuditLog } from './audit-log.js';

export interface RecordSinks {
  readonly metrics: Metrics;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** True when a message under this key may be logged now (rate limiting per key). */
  readonly throttle: (key: string) => boolean;
}

/**
 * The single exit point of a Check call's side effects: metrics, the audit event and the diagnostic line
 * for failures. Called once per call, after the answer is known and whether or not the caller is still
 * there to receive it.
 */
export function recordOutcome(
  outcome: CheckOutcome,
  latencySeconds: number,
  sinks: RecordSinks,
  exemplar?: TraceExemplar,
): void {
  const { metrics, audit, logger } = sinks;
  if (outcome.kind === 'error') {
    const f = outcome.failure;
    metrics.decisions.inc({ decision: 'error', reason: f.reason, route: '', source: 'error' });
    metrics.observeCheckDuration({ decision: 'error', route: '' }, latencySeconds, exemplar);
    logger.error(
      { decision_id: f.id, reason: f.reason, detail: f.detail },
      'check failed; answered as an error (gRPC status, HTTP 5xx), so the proxy failure mode applies',
    );
  } else {
    const d = outcome.decision;
    const decision = d.allowed ? 'allow' : 'deny';
    const route = d.routeId ?? '';
    metrics.decisions.inc({ decision, reason: d.reason, route, source: d.source });
    metrics.observeCheckDuration({ decision, route }, latencySeconds, exemplar);
    if (d.source === 'authentication' && d.tokenPresented) metrics.tokenValidationFailures.inc({ reason: d.reason });
    if (d.remote !== undefined) {
      metrics.remoteDecisions.inc({ result: d.remote.result, failure_mode: d.remote.failureMode ?? '' });
      metrics.remoteDuration.observe(d.remote.ms / 1000);
    }
    if (d.rateLimit !== undefined) metrics.rateLimited.inc({ scope: d.rateLimit.scope, risk: d.risk ?? '' });
    if (d.assertion !== undefined) metrics.assertionsIssued.inc();
    if (d.detail !== undefined && !d.allowed) {
      // policy_error and schema_mismatch point at a policy-model defect an operator must see, and
      // entity_limit_exceeded at an entity graph too wide for the limit; the rest (resource_unknown
      // included: any client can name an id that does not exist) is per-request noise, kept for debug level.
      if ((d.reason === 'policy_error' || d.reason === 'schema_mismatch') && sinks.throttle(d.reason)) {
        logger.warn(
          { decision_id: d.id, reason: d.reason, route: d.routeId, detail: d.detail },
          'policy model defect (logged at most once per interval)',
        );
      } else if (d.reason === 'entity_limit_exceeded' && sinks.throttle(d.reason)) {
        logger.warn(
          { decision_id: d.id, reason: d.reason, route: d.routeId, detail: d.detail },
          'request denied: it reaches more entities than policies.maxRequestEntities (logged at most once per interval)',
        );
      } else if (logger.isLevelEnabled('debug')) {
        logger.debug({ decision_id: d.id, reason: d.reason, detail: d.detail }, 'deny detail');
      }
    }
  }
  audit.record(outcome, latencySeconds);
}
