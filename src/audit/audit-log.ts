import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config-schema.js';
import { ConfigError } from '../config/config-error.js';
import type { CheckOutcome } from '../check/decision.js';
import type { EntityUid } from '../policy/entity-store.js';

export interface AuditLog {
  /** Writes one event for one answered Check call. Never blocks: a full buffer drops and counts. */
  record(outcome: CheckOutcome, latencySeconds: number): void;
  /** Writes out everything buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditDeps {
  readonly onWritten?: () => void;
  readonly onDropped?: (events: number) => void;
  /** Replace the destination (tests). */
  readonly stream?: pino.DestinationStream;
}

/**
 * The decision log: exactly one JSON line per Check call, on its own stream (stdout by default, apart from
 * the diagnostic log on stderr). It never holds the token, the Authorization header or a request body;
 * with hashIdentifiers, principal and resource ids are replaced by a salted HMAC and the raw path is left
 * out, so events stay joinable without carrying personal data.
 */
export function createAuditLog(config: Config['audit'], deps: AuditDeps = {}): AuditLog {
  const salt = config.hashIdentifiers ? readSalt(config) : undefined;
  const hash = (value: string) => `hmac:${createHmac('sha256', salt!).update(value).digest('base64url').slice(0, 22)}`;
  const uid = (u: EntityUid | undefined) =>
    u === undefined ? undefined : { type: u.type, id: salt === undefined ? u.id : hash(u.id) };

  const boom =
    deps.stream ??
    pino.destination({
      dest: config.destination === 'stdout' ? 1 : config.destination === 'stderr' ? 2 : config.destination,
      sync: false,
      mkdir: true,
      minLength: 0,
      maxLength: config.bufferBytes,
    });
  const emitter = boom as unknown as NodeJS.EventEmitter;
  if (typeof emitter.on === 'function') {
    emitter.on('drop', (data: string) => deps.onDropped?.(countLines(data)));
  }
  const logger: Logger = pino(
    {
      base: undefined,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino writes a level on every line; the audit stream has none, so the slot names the stream instead.
      formatters: { level: () => ({ log: 'audit' }) },
    },
    boom,
  );

  return {
    record(outcome, latencySeconds) {
      const latency_us = Math.round(latencySeconds * 1e6);
      if (outcome.kind === 'error') {
        const f = outcome.failure;
        logger.info({ type: 'authz.decision', decision_id: f.id, decision: 'error', reason: f.reason, policy_version: f.policyVersion, latency_us });
      } else {
        const d = outcome.decision;
        logger.info({
          type: 'authz.decision',
          decision_id: d.id,
          decision: d.allowed ? 'allow' : 'deny',
          reason: d.reason,
          policies: d.policies,
          policy_version: d.policyVersion,
          source: d.source,
          route: d.routeId,
          principal: uid(d.principal),
          action: d.action,
          resource: uid(d.resource),
          tenant: d.tenant,
          issuer: d.issuer,
          request:
            d.request === undefined
              ? undefined
              : { id: d.request.id, method: d.request.method, host: d.request.host, path: salt === undefined ? d.request.path : undefined },
          latency_us,
        });
      }
      deps.onWritten?.();
    },
    flush: () => flushBoom(boom),
    async close() {
      await flushBoom(boom);
      const b = boom as unknown as SonicBoomLike;
      if (deps.stream !== undefined || b.fd === 1 || b.fd === 2 || typeof b.end !== 'function') return;
      await new Promise<void>((resolve) => {
        b.once('close', () => resolve());
        b.end!();
      });
    },
  };
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
  if (config.hashSaltFile !== undefined) {
    try {
      const salt = readFileSync(config.hashSaltFile, 'utf8').trim();
      if (salt.length >= 16) return salt;
    } catch (err) {
      throw new ConfigError([`audit.hashSaltFile: cannot read ${config.hashSaltFile}: ${(err as NodeJS.ErrnoException).code ?? err}`]);
    }
    throw new ConfigError(['audit.hashSaltFile: the salt must be at least 16 characters']);
  }
  const salt = process.env[config.hashSaltEnv!];
  if (salt === undefined || salt.length < 16) throw new ConfigError([`audit.hashSaltEnv: ${config.hashSaltEnv} must hold at least 16 characters`]);
  return salt;
}

function countLines(data: string): number {
  let n = 0;
  for (let i = data.indexOf('\n'); i !== -1; i = data.indexOf('\n', i + 1)) n++;
  return Math.max(n, 1);
}
