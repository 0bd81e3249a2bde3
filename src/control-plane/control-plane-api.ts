import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Registry } from 'prom-client';

import { DEFAULT_BUNDLE_LIMITS } from '../bundle/bundle-limits.js';
import { parseAuthorizeRequest } from '../decide/authorize-codec.js';
import { decideAuthorization } from '../decide/decide-authorization.js';
import type { DecisionEngine } from '../engine/decision-engine.js';
import type { PolicyStore } from '../engine/policy-store.js';
import type { PolicyFiles } from '../policy/policy-files.js';
import { FEED_ID, parseRevocationRequest } from '../revocation/revocation-entry.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { RequestSpan, RequestTracer } from '../telemetry/request-tracer.js';
import { API_ERRORS, type ApiError } from './api-errors.js';
import type { BundlePublisher, PublishedBundle, PublishOutcome } from './bundle-publisher.js';
import type { ControlPlaneMetrics, PublishTrigger } from './control-plane-metrics.js';
import { DECISION_BATCH_LIMITS, parseDecisionBatch } from './parse-decision-batch.js';
import { readBody } from './read-body.js';
import { readPolicyUpload } from './read-policy-upload.js';
import type { DecisionLog } from './store/decision-log.js';
import type { RevocationLog } from './store/revocation-log.js';
import type { PolicyRejection } from './validate-policy-files.js';
import type { WaitList } from './wait-list.js';

export interface ControlPlaneApiDeps {
  readonly bundleName: string;
  readonly publisher: BundlePublisher;
  /**
   * Publishes `files`, or the policy directory when undefined; records the outcome (log, metrics, a span
   * under `parent` when tracing is on).
   */
  readonly publish: (
    files: PolicyFiles | undefined,
    trigger: PublishTrigger,
    parent?: RequestSpan,
  ) => Promise<PublishOutcome>;
  readonly revocations: RevocationLog;
  readonly engine: DecisionEngine;
  readonly policyStore: PolicyStore;
  readonly bundleWaiters: WaitList;
  readonly revocationWaiters: WaitList;
  readonly isAdmin: (authorization: string | undefined) => boolean;
  readonly isReader: (authorization: string | undefined) => boolean;
  /** The ingest token (or the admin token): who may append decisions. */
  readonly isIngester: (authorization: string | undefined) => boolean;
  readonly decisions: DecisionLog;
  /** Whether the store can be reached: readiness follows it (bundles already served stay served). */
  readonly isStoreHealthy: () => boolean;
  readonly metrics: ControlPlaneMetrics;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly now: () => number;
  readonly newId: () => string;
  /** Tracing on: publishing, bundle serving, revocations and remote decisions are spans. */
  readonly tracer?: RequestTracer;
}

/** The routes traced (tracing on), with the route templates that name their spans. */
const TRACED_ROUTES: Partial<Record<RouteName, string>> = {
  bundle: '/v1/bundles/{name}',
  bundle_publish: '/v1/bundles/{name}/publish',
  revocations_feed: '/v1/revocations',
  revocations_add: '/v1/revocations',
  authorize: '/v1/authorize',
};

/** Route names: the `route` label of the HTTP metrics. */
type RouteName =
  | 'bundle'
  | 'bundle_revisions'
  | 'bundle_publish'
  | 'revocations_feed'
  | 'revocations_add'
  | 'authorize'
  | 'decisions_ingest'
  | 'metrics'
  | 'healthz'
  | 'readyz'
  | 'unknown';

export const MAX_WAIT_SECONDS = 60;
const MAX_JSON_BODY = { authorize: 256 * 1024, revocation: 16 * 1024 } as const;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BUNDLE_PATH = /^\/v1\/bundles\/([^/]+)(\/revisions|\/publish)?$/;

/**
 * The control plane's HTTP API (docs/control-plane.md): bundles with ETags and long polling, publication,
 * the revocation feed, remote decisions, metrics and health. Every answer carries `x-request-id`; every
 * error is `{"error": code, "detail": text}` with a code from api-errors.ts and never an internal cause.
 */
export class ControlPlaneApi {
  readonly #deps: ControlPlaneApiDeps;
  #closing = false;
  /** The span of each traced request in progress. */
  readonly #spans = new WeakMap<ServerResponse, RequestSpan>();

  constructor(deps: ControlPlaneApiDeps) {
    this.#deps = deps;
  }

  get ready(): boolean {
    return !this.#closing && this.#deps.publisher.current !== undefined && this.#deps.isStoreHealthy();
  }

  /** SIGTERM: not ready, every parked long poll answered now (304 or the newer bundle; the feed as it is). */
  close(): void {
    this.#closing = true;
    this.#deps.bundleWaiters.wakeAll('closing');
    this.#deps.revocationWaiters.wakeAll('closing');
  }

  /** The handler of a listener that serves every endpoint (the only listener, or the admin listener). */
  handle = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res, 'all');

  /**
   * The handler of a listener. `read` serves everything but publishing and revoking, which answer 404: the
   * main listener when an admin listener exists, so that whoever can reach it (every sidecar) cannot write.
   */
  handlerFor(endpoints: 'all' | 'read'): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => this.#handle(req, res, endpoints);
  }

  #handle(req: IncomingMessage, res: ServerResponse, endpoints: 'all' | 'read'): void {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : this.#deps.newId();
    res.setHeader('x-request-id', requestId);
    if (this.#closing) res.setHeader('connection', 'close');
    let route: RouteName = 'unknown';
    res.once('close', () => {
      const status = res.headersSent ? String(res.statusCode) : 'aborted';
      this.#deps.metrics.httpRequests.inc({ route, status });
      this.#deps.metrics.httpDuration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });

    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://control-plane');
    } catch {
      this.#error(res, 'invalid_request', 'malformed request target');
      return;
    }
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    const dispatch = (name: RouteName, allowed: string, handler: () => Promise<void> | void): void => {
      route = name;
      const template = TRACED_ROUTES[name];
      if (this.#deps.tracer !== undefined && template !== undefined) {
        const span = this.#deps.tracer.request(`${method} ${template}`, req.headers, {
          'http.request.method': method,
          'http.route': template,
          'authzd.cp.route': name,
          'authzd.request_id': requestId,
        });
        this.#spans.set(res, span);
        res.once('close', () => span.end({ status: res.headersSent ? res.statusCode : 499 }));
      }
      if (!allowed.split(', ').includes(method)) {
        res.setHeader('allow', allowed);
        this.#error(res, 'method_not_allowed', `${url.pathname} allows ${allowed}`);
        return;
      }
      Promise.resolve()
        .then(handler)
        .catch((err: unknown) => {
          this.#deps.logger.error(
            { requestId, route: name, err: err instanceof Error ? err.message : String(err) },
            'request failed',
          );
          if (!res.headersSent)
            this.#error(res, 'internal_error', `see the control plane log for request ${requestId}`);
          else res.destroy();
        });
    };

    const path = url.pathname;
    if (path === '/healthz')
      return dispatch(
        'healthz',
        'GET, HEAD',
        () => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
      );
    if (path === '/readyz') {
      return dispatch('readyz', 'GET, HEAD', () => {
        res
          .writeHead(this.ready ? 200 : 503, { 'content-type': 'text/plain' })
          .end(this.ready ? 'ready\n' : 'not ready\n');
      });
    }
    if (path === '/metrics') return dispatch('metrics', 'GET, HEAD', () => this.#metrics(res));
    if (path === '/v1/authorize') return dispatch('authorize', 'POST', () => this.#authorize(req, res));
    if (path === '/v1/decisions') return dispatch('decisions_ingest', 'POST', () => this.#ingestDecisions(req, res));
    if (path === '/v1/revocations') {
      if (get) return dispatch('revocations_feed', 'GET, HEAD, POST', () => this.#revocationFeed(req, res, url));
      if (endpoints === 'read')
        return dispatch('revocations_add', 'GET, HEAD, POST', () => this.#error(res, 'not_found', ADMIN_ELSEWHERE));
      return dispatch('revocations_add', 'GET, HEAD, POST', () => this.#addRevocation(req, res));
    }
    const bundle = BUNDLE_PATH.exec(path);
    if (bundle !== null) {
      const sub = bundle[2];
      const name = sub === '/revisions' ? 'bundle_revisions' : sub === '/publish' ? 'bundle_publish' : 'bundle';
      return dispatch(name, sub === '/publish' ? 'POST' : 'GET, HEAD', () => {
        if (safeDecode(bundle[1]!) !== this.#deps.bundleName)
          return this.#error(res, 'not_found', 'no bundle of that name');
        if (sub === '/publish' && endpoints === 'read') return this.#error(res, 'not_found', ADMIN_ELSEWHERE);
        if (sub === '/publish') return this.#publish(req, res);
        if (sub === '/revisions') return this.#revisions(req, res);
        return this.#bundle(req, res, url);
      });
    }
    this.#error(res, 'not_found', 'no such endpoint');
  }

  async #bundle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!this.#deps.isReader(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'a read token is required');
    const wait = waitSeconds(url);
    if (wait === undefined)
      return this.#error(res, 'invalid_request', `wait: expected whole seconds, 0 to ${MAX_WAIT_SECONDS}`);
    const current = this.#deps.publisher.current;
    if (current === undefined) return this.#error(res, 'policy_unavailable', 'no bundle has been published yet');
    if (!etagMatches(req.headers['if-none-match'], current.etag)) return this.#sendBundle(res, current);
    if (wait === 0 || this.#closing) return this.#notModified(res, current);
    // A long poll: the wait for a publication is the span's; the event marks where it began and ended.
    const span = this.#spans.get(res);
    span?.addEvent('authzd.long_poll.parked', { 'authzd.long_poll.wait_s': wait });
    const cancel = this.#deps.bundleWaiters.add(this.#deps.now() + wait * 1000, (reason) => {
      span?.addEvent('authzd.long_poll.woken', { 'authzd.long_poll.reason': reason });
      res.off('close', cancel);
      const latest = this.#deps.publisher.current!;
      if (latest.etag !== current.etag) this.#sendBundle(res, latest);
      else this.#notModified(res, latest);
    });
    // The client went away: forget the waiter now rather than at its deadline.
    res.once('close', cancel);
  }

  #sendBundle(res: ServerResponse, bundle: PublishedBundle): void {
    if (res.destroyed) return;
    this.#spans.get(res)?.setAttributes({ 'authzd.bundle.revision': bundle.revision, 'authzd.bundle.sent': true });
    res
      .writeHead(200, {
        'content-type': 'application/gzip',
        'content-length': bundle.bytes.byteLength,
        etag: bundle.etag,
        'x-authzd-revision': String(bundle.revision),
        'cache-control': 'no-cache',
        ...this.#closeHeader(),
      })
      .end(bundle.bytes);
  }

  #notModified(res: ServerResponse, bundle: PublishedBundle): void {
    if (res.destroyed) return;
    this.#spans.get(res)?.setAttributes({ 'authzd.bundle.revision': bundle.revision, 'authzd.bundle.sent': false });
    res
      .writeHead(304, {
        etag: bundle.etag,
        'x-authzd-revision': String(bundle.revision),
        'cache-control': 'no-cache',
        ...this.#closeHeader(),
      })
      .end();
  }

  async #revisions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#deps.isReader(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'a read token is required');
    const revisions = await this.#deps.publisher.revisions();
    this.#json(res, 200, {
      name: this.#deps.bundleName,
      current: this.#deps.publisher.current?.revision ?? null,
      revisions,
    });
  }

  async #publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#deps.isAdmin(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'the admin token is required');
    const body = await readBody(req, DEFAULT_BUNDLE_LIMITS.maxCompressedBytes);
    if (!body.ok) return this.#bodyError(res, body.reason, DEFAULT_BUNDLE_LIMITS.maxCompressedBytes);
    let outcome: PublishOutcome;
    if (body.bytes.length === 0) {
      outcome = await this.#deps.publish(undefined, 'api', this.#spans.get(res));
    } else {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/gzip' && type !== 'application/x-gzip') {
        return this.#error(
          res,
          'unsupported_media_type',
          'send a gzip tar of policy files as application/gzip, or no body to publish the policy directory',
        );
      }
      const upload = await readPolicyUpload(body.bytes);
      if (!upload.ok) return this.#error(res, upload.tooLarge ? 'payload_too_large' : 'invalid_request', upload.detail);
      outcome = await this.#deps.publish(upload.files, 'upload', this.#spans.get(res));
    }
    if (outcome.result === 'rejected') {
      return this.#error(res, 'policy_rejected', `${rejectionSummary(outcome)}; nothing was published`, {
        reason: outcome.reason,
        ...(outcome.tests !== undefined ? { tests: outcome.tests } : {}),
        problems: outcome.problems,
        current: this.#deps.publisher.current?.revision ?? null,
      });
    }
    const b = outcome.bundle;
    this.#json(res, 200, {
      result: outcome.result,
      name: this.#deps.bundleName,
      revision: b.revision,
      etag: b.etag,
      digest: b.digest,
      created: b.created,
    });
  }

  async #revocationFeed(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!this.#deps.isReader(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'a read token is required');
    const since = nonNegativeInteger(url.searchParams.get('since') ?? '0');
    if (since === undefined)
      return this.#error(res, 'invalid_request', 'since: expected a non-negative integer sequence number');
    const feed = url.searchParams.get('feed') ?? undefined;
    if (feed !== undefined && !FEED_ID.test(feed))
      return this.#error(res, 'invalid_request', 'feed: expected the feed id of an earlier page');
    const wait = waitSeconds(url);
    if (wait === undefined)
      return this.#error(res, 'invalid_request', `wait: expected whole seconds, 0 to ${MAX_WAIT_SECONDS}`);
    const store = this.#deps.revocations;
    const span = this.#spans.get(res);
    span?.setAttributes({ 'authzd.revocation.since': since });
    const answer = () => {
      if (res.destroyed) return;
      const page = store.page(since, feed);
      span?.setAttributes({ 'authzd.revocation.seq': page.seq, 'authzd.revocation.entries': page.entries.length });
      this.#json(res, 200, page, { 'cache-control': 'no-store' });
    };
    if (wait === 0 || this.#closing || !store.isCurrent(since, feed)) return answer();
    const deadline = this.#deps.now() + wait * 1000;
    let cancel = () => {};
    const onClose = () => cancel();
    const park = () => {
      cancel = this.#deps.revocationWaiters.add(deadline, (reason) => {
        // A change that did not move the sequence (compaction) does not end the wait.
        if (reason === 'changed' && store.isCurrent(since, feed) && this.#deps.now() < deadline) return park();
        res.off('close', onClose);
        answer();
      });
    };
    park();
    res.once('close', onClose);
  }

  async #addRevocation(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#deps.isAdmin(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'the admin token is required');
    const json = await this.#readJson(req, res, MAX_JSON_BODY.revocation);
    if (json === NO_BODY) return;
    const parsed = parseRevocationRequest(json, Math.floor(this.#deps.now() / 1000));
    if (!parsed.ok) return this.#error(res, 'invalid_request', parsed.detail);
    const entry = await this.#deps.revocations.add(parsed.value);
    this.#deps.metrics.revocationsAdded.inc();
    // The value (a subject, session or token id) stays out of the span as out of the log.
    this.#spans.get(res)?.setAttributes({ 'authzd.revocation.seq': entry.seq, 'authzd.revocation.kind': entry.kind });
    // The value (a subject, session or token id) stays out of the log.
    this.#deps.logger.info(
      { seq: entry.seq, kind: entry.kind, issuer: entry.issuer, expiresAt: entry.expiresAt },
      'revocation added',
    );
    this.#json(res, 201, entry);
  }

  async #authorize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#deps.isReader(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'a read token is required');
    const json = await this.#readJson(req, res, MAX_JSON_BODY.authorize);
    if (json === NO_BODY) return;
    const parsed = parseAuthorizeRequest(json);
    if (!parsed.ok) return this.#error(res, 'invalid_request', parsed.detail);
    const store = this.#deps.policyStore;
    const set = store.acquire();
    if (set === undefined) return this.#error(res, 'policy_unavailable', 'no policy set is active');
    try {
      const { answer, detail } = decideAuthorization(this.#deps.engine, set, parsed.value, this.#deps.newId());
      this.#deps.metrics.authorizeDecisions.inc({ decision: answer.decision, reason: answer.reason });
      if (detail !== undefined)
        this.#deps.logger.warn(
          { decisionId: answer.decisionId, reason: answer.reason, detail },
          'authorize: policy diagnostics',
        );
      this.#json(res, 200, answer);
    } finally {
      store.release(set);
    }
  }

  async #ingestDecisions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#deps.isIngester(req.headers.authorization))
      return this.#error(res, 'unauthorized', 'the ingest token is required');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-ndjson')
      return this.#error(
        res,
        'unsupported_media_type',
        'send decision events as application/x-ndjson, one JSON object a line',
      );
    const body = await readBody(req, DECISION_BATCH_LIMITS.maxBytes);
    if (!body.ok) return this.#bodyError(res, body.reason, DECISION_BATCH_LIMITS.maxBytes);
    const batch = parseDecisionBatch(body.bytes);
    if (!batch.ok) {
      this.#deps.metrics.decisionBatches.inc({ result: 'invalid' });
      return this.#error(res, 'invalid_request', batch.detail);
    }
    let file: string;
    try {
      file = await this.#deps.decisions.append(batch.text);
    } catch (err) {
      this.#deps.metrics.decisionBatches.inc({ result: 'failed' });
      throw err;
    }
    this.#deps.metrics.decisionBatches.inc({ result: 'appended' });
    this.#deps.metrics.decisionsAppended.inc(batch.events);
    this.#json(res, 200, { accepted: batch.events, file });
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const { metrics, revocations, registry } = this.#deps;
    metrics.revocationsLive.set(revocations.liveCount);
    metrics.revocationSeq.set(revocations.seq);
    metrics.ready.set(this.ready ? 1 : 0);
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(text);
  }

  async #readJson(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<unknown> {
    const body = await readBody(req, maxBytes);
    if (!body.ok) {
      this.#bodyError(res, body.reason, maxBytes);
      return NO_BODY;
    }
    try {
      return JSON.parse(body.bytes.toString('utf8'));
    } catch {
      this.#error(res, 'invalid_request', 'body: not valid JSON');
      return NO_BODY;
    }
  }

  #bodyError(res: ServerResponse, reason: 'too_large' | 'aborted', maxBytes: number): void {
    if (reason === 'aborted') {
      res.destroy();
      return;
    }
    res.setHeader('connection', 'close');
    this.#error(res, 'payload_too_large', `the body exceeds ${maxBytes} bytes`);
  }

  #json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res
      .writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        ...headers,
        ...this.#closeHeader(),
      })
      .end(text);
  }

  #error(res: ServerResponse, code: ApiError, detail: string, extra: Record<string, unknown> = {}): void {
    if (code === 'unauthorized') res.setHeader('www-authenticate', 'Bearer');
    this.#json(res, API_ERRORS[code].status, { error: code, detail, ...extra });
  }

  #closeHeader(): Record<string, string> {
    return this.#closing ? { connection: 'close' } : {};
  }
}

const NO_BODY = Symbol('no body');

/** One sentence for a refused set: what the operator reads first. */
function rejectionSummary(rejection: PolicyRejection): string {
  const n = rejection.problems.length;
  switch (rejection.reason) {
    case 'policy_tests_failed':
      return `${rejection.tests!.failed} of ${rejection.tests!.cases} policy test cases fail`;
    case 'policy_tests_invalid':
      return `the policy tests cannot run: ${n} problem${n === 1 ? '' : 's'} in tests/`;
    case 'policy_invalid':
      return `the policy set does not compile: ${n} problem${n === 1 ? '' : 's'}`;
    case 'policy_unreadable':
      return 'the policy directory cannot be read';
    case 'bundle_unbuildable':
      return 'the policy files cannot be put in a bundle';
  }
}
const ADMIN_ELSEWHERE = 'publishing and revoking are served on the admin listener (--admin-addr), not on this one';

/** RFC 9110 §13.1.2: a list of entity tags or "*"; weak comparison, as for GET. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/** `?wait=` in whole seconds; values above the maximum are capped, garbage is refused. */
function waitSeconds(url: URL): number | undefined {
  const raw = url.searchParams.get('wait');
  if (raw === null) return 0;
  const n = nonNegativeInteger(raw);
  return n === undefined ? undefined : Math.min(n, MAX_WAIT_SECONDS);
}

function nonNegativeInteger(raw: string): number | undefined {
  if (!/^\d{1,16}$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
