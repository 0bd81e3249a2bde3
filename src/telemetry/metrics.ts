// Every metric authzd exports. docs/metrics.md lists the same names; test/unit/docs-sync.test.ts keeps
// them in step. Labels are bounded: reasons are a closed set, routes and issuers come from configuration,
// never from request data.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

// Sub-millisecond buckets: the warm path is tens of microseconds.
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Cumulative counters a cache keeps itself; read at scrape time. */
export interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly entries: number;
}

export function createMetrics(registry: Registry) {
  const registers = [registry];
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const cacheSources = new Map<string, () => CacheCounters>();
  let revocationSource: (() => { entries: number; lagSeconds: number }) | undefined;
  // Caches count for themselves on the hot path (a field increment); these read the counts on scrape.
  const fromCaches = (pick: (c: CacheCounters) => number) =>
    function (this: Counter<'cache'> | Gauge<'cache'>) {
      this.reset();
      for (const [cache, read] of cacheSources) {
        const value = pick(read());
        if ('set' in this) this.set({ cache }, value);
        else if (value > 0) this.inc({ cache }, value);
      }
    };
  return {
    /** Where the revocation gauges read from (the sidecar's revocation list and feed follower). */
    setRevocationSource(read: () => { entries: number; lagSeconds: number }): void {
      revocationSource = read;
    },
    bundleRevision: new Gauge({
      name: 'authzd_bundle_revision',
      help: 'Revision of the active policy bundle (absent when policies come from a directory).',
      registers,
      aggregator: 'min',
    }),
    bundleFetches: new Counter({
      name: 'authzd_bundle_fetches_total',
      help: 'Answers from the bundle server, by result (updated, unchanged).',
      labelNames: ['result'] as const,
      registers,
    }),
    bundleFailures: new Counter({
      name: 'authzd_bundle_failures_total',
      help: 'Bundle updates that failed, by stage (fetch, verify, activate) and reason; the active set keeps serving.',
      labelNames: ['stage', 'reason'] as const,
      registers,
    }),
    revocations: new Gauge({
      name: 'authzd_revocations',
      help: 'Live revocation entries held.',
      registers,
      aggregator: 'max',
      collect() {
        const r = revocationSource?.();
        if (r !== undefined) this.set(r.entries);
      },
    }),
    revocationFeedLag: new Gauge({
      name: 'authzd_revocation_feed_lag_seconds',
      help: 'Seconds since the revocation list was last in sync with the feed (how stale it may be): since the last answer; before the first one, since the persisted list was in sync, else since start-up.',
      registers,
      aggregator: 'max',
      collect() {
        const r = revocationSource?.();
        if (r !== undefined) this.set(r.lagSeconds);
      },
    }),
    revocationFeedResets: new Counter({
      name: 'authzd_revocation_feed_resets_total',
      help: 'Reset pages of the revocation feed after the first sync, by cause (feed_changed: another feed, the control plane lost or replaced its storage; resync). Held revocations are kept either way.',
      labelNames: ['cause'] as const,
      registers,
    }),
    revocationPolls: new Counter({
      name: 'authzd_revocation_polls_total',
      help: 'Polls of the revocation feed, by result (ok, or the failure reason).',
      labelNames: ['result'] as const,
      registers,
    }),
    remoteDecisions: new Counter({
      name: 'authzd_remote_decisions_total',
      help: 'Decisions asked of the remote tier, by result (ok, timeout, error, circuit_open, overloaded) and the failure mode applied when not ok.',
      labelNames: ['result', 'failure_mode'] as const,
      registers,
    }),
    remoteDuration: new Histogram({
      name: 'authzd_remote_decision_duration_seconds',
      help: 'Time of remote decision calls (successful or not).',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    rateLimited: new Counter({
      name: 'authzd_rate_limited_total',
      help: 'Requests refused with 429, by limit scope (principal, tenant) and route risk class.',
      labelNames: ['scope', 'risk'] as const,
      registers,
    }),
    assertionsIssued: new Counter({
      name: 'authzd_assertions_issued_total',
      help: 'Signed decision assertions minted for upstreams.',
      registers,
    }),
    engineVerifications: new Counter({
      name: 'authzd_engine_verifications_total',
      help: 'Sampled decisions re-evaluated by cedar-wasm off the serving thread (engine.verifySample), by result.',
      labelNames: ['result'] as const,
      registers,
    }),
    engineDisagreements: new Counter({
      name: 'authzd_engine_disagreements_total',
      help: 'Sampled decisions where the deciding engine and cedar-wasm gave different answers.',
      registers,
    }),
    shadowEvaluations: new Counter({
      name: 'authzd_shadow_evaluations_total',
      help: 'Requests also decided by the shadow (candidate) policy set, by result (agree, disagree).',
      labelNames: ['result'] as const,
      registers,
    }),
    shadowDisagreements: new Counter({
      name: 'authzd_shadow_disagreements_total',
      help: 'Shadow decisions that differ from the active ones, by route and both reasons.',
      labelNames: ['route', 'active_reason', 'shadow_reason'] as const,
      registers,
    }),
    /** Registers a cache ("token", "decision") whose counters the cache metrics report. */
    addCacheSource(cache: string, read: () => CacheCounters): void {
      cacheSources.set(cache, read);
    },
    cacheHits: new Counter({
      name: 'authzd_cache_hits_total',
      help: 'Cache lookups that found a usable entry, by cache (token, decision).',
      labelNames: ['cache'] as const,
      registers,
      collect: fromCaches((c) => c.hits),
    }),
    cacheMisses: new Counter({
      name: 'authzd_cache_misses_total',
      help: 'Cache lookups that found nothing usable, by cache (token, decision).',
      labelNames: ['cache'] as const,
      registers,
      collect: fromCaches((c) => c.misses),
    }),
    cacheEvictions: new Counter({
      name: 'authzd_cache_evictions_total',
      help: 'Entries evicted to stay within the size bounds, by cache.',
      labelNames: ['cache'] as const,
      registers,
      collect: fromCaches((c) => c.evictions),
    }),
    cacheEntries: new Gauge({
      name: 'authzd_cache_entries',
      help: 'Entries held, by cache.',
      labelNames: ['cache'] as const,
      registers,
      collect: fromCaches((c) => c.entries),
    }),
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
    lateAnswers: new Counter({
      name: 'authzd_checks_late_total',
      help: 'Check calls answered after their deadline (the caller had given up), by decision (allow, deny, error).',
      labelNames: ['decision'] as const,
      registers,
    }),
    // Aggregators say how the primary combines workers' values when --workers > 1 (default: sum).
    policyInfo: new Gauge({
      name: 'authzd_policy_info',
      help: 'Always 1, labelled with the active policy version.',
      labelNames: ['version'] as const,
      registers,
      aggregator: 'max',
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
      aggregator: 'min',
    }),
    policies: new Gauge({
      name: 'authzd_policies',
      help: 'Policies in the active set.',
      registers,
      aggregator: 'max',
    }),
    entities: new Gauge({
      name: 'authzd_entities',
      help: 'Entities in the active entity store.',
      registers,
      aggregator: 'max',
    }),
    ready: new Gauge({
      name: 'authzd_ready',
      help: '1 when the sidecar can decide (a policy set is active, every issuer has a usable key set, the revocation list is trusted) and is not shutting down, else 0.',
      registers,
      aggregator: 'min',
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
    decisionsShipped: new Counter({
      name: 'authzd_decisions_shipped_total',
      help: 'Decision events the control plane accepted (audit.ship).',
      registers,
    }),
    decisionsShipDropped: new Counter({
      name: 'authzd_decisions_ship_dropped_total',
      help: 'Decision events that will never be shipped, by reason (buffer_full, rejected, shutdown).',
      labelNames: ['reason'] as const,
      registers,
    }),
    decisionsShipFailures: new Counter({
      name: 'authzd_decisions_ship_failures_total',
      help: 'Failed attempts to ship a batch, by reason (network, timeout, unauthorized, http_status, rejected).',
      labelNames: ['reason'] as const,
      registers,
    }),
    jwksRefreshes: new Counter({
      name: 'authzd_jwks_refreshes_total',
      help: 'Background and on-demand key-set fetches of remote JWKS, by issuer and result (ok, error, refused: a JWKS that is empty or holds private keys, not taken).',
      labelNames: ['issuer', 'result'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
