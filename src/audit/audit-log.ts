import { createHmac } from 'node:crypto';

import type pino from 'pino';
import sonicBoom from 'sonic-boom';

import type { CedarValueJson } from '../cedar/cedar.js';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/config-schema.js';
import { placeholderSecretProblem } from '../config/placeholder-secret-problem.js';
import { readSecretFile } from '../config/read-secret.js';
import type { EntityUid } from '../contract/cedar-call.js';
import type { CheckOutcome } from '../contract/decision.js';
import { encodeAuthorizeRequest } from '../decide/authorize-codec.js';
import { type AuditFields, auditLine } from './audit-line.js';
import type { DecisionEventInput } from './decision-event.js';

export interface AuditLog {
  /** Writes one event for one answered Check call. Never blocks: a full buffer drops and counts. */
  record(outcome: CheckOutcome, latencySeconds: number): void;
  /**
   * Hands every event line (the JSON text written locally, with its newline) to `listener` as well, right
   * after it is written: the event is serialised once for every destination. Listeners run on the Check
   * path, so they must only queue the line. Returns the function that removes the listener.
   */
  onEvent(listener: (line: string) => void): () => void;
  /** Writes out everything buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditDeps {
  readonly onWritten?: () => void;
  readonly onDropped?: (events: number) => void;
  /**
   * A write to the destination failed (EPIPE from a pipe whose reader left, ENOSPC, EIO). The unwritten
   * bytes stay buffered and are retried with the next event; what exceeds bufferBytes meanwhile is dropped.
   */
  readonly onError?: (err: Error) => void;
  /** Replace the destination (tests). */
  readonly stream?: pino.DestinationStream;
  /**
   * Hand the destination the lines of one event-loop turn as one write (default: on for the real destination,
   * off for a replaced stream, which then sees each line as it is recorded).
   */
  readonly batch?: boolean;
}

/** Delay before a failed write (EPIPE, ENOSPC...) is tried again. */
const WRITE_RETRY_MS = 1_000;
/** Longest wait for the destination to take what is buffered when the log closes. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * The decision log: exactly one JSON line per Check call, on its own stream (stdout by default, apart from
 * the diagnostic log on stderr). It never holds the token, the Authorization header or a request body;
 * with hashIdentifiers, principal and resource ids are replaced by a salted HMAC and the raw path is left
 * out, so events stay joinable without carrying personal data. Decisions the engine made carry `input`,
 * the Cedar request as evaluated minus the entity slice, which `authzd replay` re-evaluates (docs/audit.md).
 */
export function createAuditLog(config: Config['audit'], deps: AuditDeps = {}): AuditLog {
  const salt = config.hashIdentifiers ? readSalt(config) : undefined;
  const hash = (value: string) => `hmac:${createHmac('sha256', salt!).update(value).digest('base64url').slice(0, 22)}`;
  const uid = (u: EntityUid | undefined) =>
    u === undefined ? undefined : { type: u.type, id: salt === undefined ? u.id : hash(u.id) };
  const listeners = new Set<(line: string) => void>();

  // SonicBoom itself, not pino.destination(): pino's wrapper turns the stream into a silent no-op for good
  // after one EPIPE (every later event lost, uncounted; shutdown waits forever for a 'close' that never
  // comes) and registers a synchronous flush at process exit that blocks on a stalled pipe.
  const boom =
    deps.stream ??
    new sonicBoom.SonicBoom({
      dest: config.destination === 'stdout' ? 1 : config.destination === 'stderr' ? 2 : config.destination,
      sync: false,
      mkdir: true,
      minLength: 0,
      maxLength: config.bufferBytes,
      // With --workers, several processes write to the same stdout pipe; writes of whole lines up to
      // PIPE_BUF (4 KiB on Linux) are atomic, so lines from different workers never interleave.
      ...(config.destination === 'stdout' || config.destination === 'stderr' ? { maxWrite: 4096 } : {}),
    });
  const emitter = boom as unknown as NodeJS.EventEmitter;
  let retry: NodeJS.Timeout | undefined;
  let closing = false;
  if (typeof emitter.on === 'function') {
    emitter.on('drop', (data: string) => deps.onDropped?.(countLines(data)));
    // Without a listener an 'error' event is thrown: a broken audit pipe would take the sidecar down. The
    // failed bytes stay buffered, but sonic-boom retries them only when it accepts a new event, which it
    // never does again once the buffer is full; so retry on a timer (an empty write restarts writing).
    emitter.on('error', (err: Error) => {
      deps.onError?.(err);
      if (retry !== undefined || closing) return;
      retry = setTimeout(() => {
        retry = undefined;
        if (!closing) boom.write('');
      }, WRITE_RETRY_MS);
      retry.unref();
    });
  }

  // The line format is pino's (the audit stream used a pino logger before it had listeners): "log" names the
  // stream, then the ISO time, then the event's fields; undefined fields are left out (auditLine).
  const write = (fields: AuditFields) => {
    const line = auditLine(new Date().toISOString(), fields);
    if (batching) queue(line);
    else boom.write(line);
    for (const listener of listeners) listener(line);
  };

  // One write per event-loop turn instead of one per event: each write is a system call on the thread pool,
  // which cost more than building the line (#15, docs/BENCHMARKS.md). A batch stays within maxWrite so
  // that, on a pipe, it is still written whole (lines of --workers never interleave), and within a quarter
  // of bufferBytes: sonic-boom drops a write that does not fit its buffer whole, so a batch as large as the
  // buffer would be dropped without ever being tried (and a failing destination never reported).
  const batching = deps.batch ?? deps.stream === undefined;
  const batchLimit = Math.min(
    config.destination === 'stdout' || config.destination === 'stderr' ? 4096 : 16 * 1024,
    Math.floor(config.bufferBytes / 4),
  );
  let pending = '';
  let pendingBytes = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const writePending = () => {
    scheduled = undefined;
    if (pending === '') return;
    const batch = pending;
    pending = '';
    pendingBytes = 0;
    boom.write(batch);
  };
  const queue = (line: string) => {
    const bytes = Buffer.byteLength(line);
    if (pendingBytes + bytes > batchLimit) writePending();
    pending += line;
    pendingBytes += bytes;
    scheduled ??= setImmediate(writePending);
  };

  return {
    record(outcome, latencySeconds) {
      const latency_us = Math.round(latencySeconds * 1e6);
      if (outcome.kind === 'error') {
        const f = outcome.failure;
        write({
          type: 'authz.decision',
          decision_id: f.id,
          decision: 'error',
          reason: f.reason,
          policy_version: f.policyVersion,
          latency_us,
        });
      } else {
        const d = outcome.decision;
        let input: DecisionEventInput | undefined;
        if (config.includeInputs && d.input !== undefined) {
          // What a replay needs of the Cedar request: the /v1/authorize body for it (the rest of the entities a
          // replay takes from the policy set it replays against).
          input = encodeAuthorizeRequest(d.input);
          if (salt !== undefined) input = hashInput(input, hash, d.tenant);
        }
        write({
          type: 'authz.decision',
          decision_id: d.id,
          decision: d.allowed ? 'allow' : 'deny',
          reason: d.reason,
          policies: d.policies,
          // Policies Cedar skipped because they failed to evaluate (with policies.onError "ignore" an allow
          // can have them); absent when none did.
          errors: d.errors.length > 0 ? d.errors : undefined,
          policy_version: d.policyVersion,
          source: d.source,
          route: d.routeId,
          risk: d.risk,
          principal: uid(d.principal),
          action: d.action,
          resource: uid(d.resource),
          tenant: d.tenant,
          issuer: d.issuer,
          request:
            d.request === undefined
              ? undefined
              : {
                  id: d.request.id,
                  method: d.request.method,
                  host: d.request.host,
                  path: salt === undefined ? d.request.path : undefined,
                },
          latency_us,
          remote:
            d.remote === undefined
              ? undefined
              : { result: d.remote.result, failure_mode: d.remote.failureMode, ms: Math.round(d.remote.ms) },
          rate_limit:
            d.rateLimit === undefined
              ? undefined
              : { scope: d.rateLimit.scope, retry_after_s: d.rateLimit.retryAfterSeconds },
          hashed: salt === undefined ? undefined : true,
          input,
        });
      }
      deps.onWritten?.();
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush: () => {
      clearImmediate(scheduled);
      writePending();
      return flushBoom(boom);
    },
    async close() {
      closing = true;
      clearTimeout(retry);
      clearImmediate(scheduled);
      writePending();
      const b = boom as unknown as SonicBoomLike;
      const closed = (async () => {
        await flushBoom(boom);
        // end() on stdout/stderr leaves the descriptor open; it is what waits for the buffered writes (flush()
        // does not when minLength is 0).
        if (deps.stream !== undefined || typeof b.end !== 'function') return;
        await new Promise<void>((resolve) => {
          b.once('close', () => resolve());
          b.end!();
        });
      })();
      // A destination that takes nothing (a FIFO nobody reads, a dead pipe) must not hold shutdown forever.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (timedOut)
        deps.onError?.(
          Object.assign(new Error(`the audit destination took no data for ${CLOSE_TIMEOUT_MS} ms at shutdown`), {
            code: 'ETIMEDOUT',
          }),
        );
    },
  };
}

/**
 * The input with personal data hashed like the event's top-level fields: the principal and resource ids and
 * every string equal to either (context.token.sub, an owner reference), the principal's string attributes
 * other than the tenant (an email claim), and the path (it holds resource ids); the client's source address
 * is left out. Extension values (`__extn`) are kept: a hashed address or decimal would no longer parse.
 */
function hashInput(
  input: DecisionEventInput,
  hash: (value: string) => string,
  tenant: string | undefined,
): DecisionEventInput {
  const principalId = input.principal.uid.id;
  const resourceId = input.resource.id;
  const ids = (s: string) => (s === principalId || s === resourceId ? hash(s) : s);
  const personal = (s: string) => (s === tenant ? s : hash(s));
  const attrs: Record<string, CedarValueJson> = {};
  for (const [name, value] of Object.entries(input.principal.attrs)) attrs[name] = mapStrings(value, personal);
  const context = mapStrings(input.context, ids) as Record<string, CedarValueJson>;
  for (const facts of ['request', 'connection']) {
    const record = context[facts];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) continue;
    const { sourceIp: _dropped, ...rest } = record as Record<string, CedarValueJson>;
    if (typeof rest.path === 'string') rest.path = hash(rest.path);
    context[facts] = rest;
  }
  return {
    principal: {
      uid: { type: input.principal.uid.type, id: hash(principalId) },
      attrs,
      parents: input.principal.parents.map((u) => ({ type: u.type, id: ids(u.id) })),
    },
    action: input.action,
    resource: { type: input.resource.type, id: hash(resourceId) },
    context,
  };
}

function mapStrings(value: CedarValueJson, f: (s: string) => string): CedarValueJson {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value === 'object' && value !== null) {
    if ('__extn' in value) return value;
    // An entity reference keeps its type; only the id can be personal.
    const ref = ('__entity' in value ? value.__entity : value) as { type?: unknown; id?: unknown };
    if (typeof ref.type === 'string' && typeof ref.id === 'string' && Object.keys(ref).length === 2) {
      const hashed = { type: ref.type, id: f(ref.id) };
      return '__entity' in value ? { __entity: hashed } : hashed;
    }
    const out: Record<string, CedarValueJson> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v as CedarValueJson, f);
    return out;
  }
  return value;
}

interface SonicBoomLike extends NodeJS.EventEmitter {
  fd?: number;
  flush?: (cb: (err?: Error) => void) => void;
  end?: () => void;
}

/** Waits until the destination is open, then until everything buffered is written. */
async function flushBoom(boom: unknown): Promise<void> {
  const b = boom as SonicBoomLike;
  if (typeof b.flush !== 'function') return;
  if (b.fd !== undefined && b.fd < 0) await new Promise<void>((resolve) => b.once('ready', () => resolve()));
  await new Promise<void>((resolve) => {
    try {
      b.flush!(() => resolve());
    } catch {
      resolve();
    }
  });
}

function readSalt(config: Config['audit']): string {
  let salt: string;
  let source: string;
  if (config.hashSaltFile !== undefined) {
    source = `audit.hashSaltFile ${config.hashSaltFile}`;
    try {
      salt = readSecretFile(config.hashSaltFile);
    } catch (err) {
      throw new ConfigError([
        `audit.hashSaltFile: cannot read ${config.hashSaltFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      ]);
    }
    if (salt.length < 16) throw new ConfigError(['audit.hashSaltFile: the salt must be at least 16 characters']);
  } else {
    source = `audit.hashSaltEnv ${config.hashSaltEnv}`;
    const fromEnv = process.env[config.hashSaltEnv!];
    if (fromEnv === undefined || fromEnv.length < 16)
      throw new ConfigError([`audit.hashSaltEnv: ${config.hashSaltEnv} must hold at least 16 characters`]);
    salt = fromEnv;
  }
  // A known salt makes the hashes reversible for anyone who can guess the identifiers.
  const placeholder = placeholderSecretProblem(salt, 'the hashing salt', source);
  if (placeholder !== undefined) throw new ConfigError([placeholder]);
  return salt;
}

function countLines(data: string): number {
  let n = 0;
  for (let i = data.indexOf('\n'); i !== -1; i = data.indexOf('\n', i + 1)) n++;
  return Math.max(n, 1);
}
