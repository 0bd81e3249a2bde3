import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { CedarCall } from '../../contract/cedar-call.js';
import type { PolicyModel } from '../../policy/compile-policy-model.js';
import { exportModel } from '../../policy/model-parts.js';
import type { Logger } from '../../telemetry/create-logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { EngineAnswer } from '../decision-engine.js';
import { compareAnswers } from './compare-answers.js';
import { OracleSets } from './oracle-sets.js';
import type { FromVerifier, ToVerifier } from './verify-messages.js';

const WORKER = new URL('./verify-worker.js', import.meta.url);
/** Entities per message while a model is sent: a few milliseconds of the serving thread each. */
const CHUNK = 500;
/** A verifier thread that dies is restarted at most this often, so a crash loop costs little. */
const RESTART_MS = 60_000;

export interface VerifierOptions {
  /** Fraction of decisions re-evaluated (engine.verifySample). */
  readonly sample: number;
  /** Samples in flight at most (engine.verifyQueue); past it samples are dropped and counted. */
  readonly queue: number;
  readonly validateRequests: boolean;
  readonly maxRequestEntities: number;
  readonly metrics: Pick<Metrics, 'engineVerifications' | 'engineDisagreements'>;
  readonly logger: Pick<Logger, 'error' | 'warn'>;
  readonly random?: () => number;
}

interface Pending {
  readonly version: string;
  readonly call: CedarCall;
  readonly answer: EngineAnswer;
}

/** Somewhere messages go and answers come from: the verifier thread, or (running from sources) this one. */
interface Channel {
  post(message: ToVerifier): void;
  close(): Promise<void>;
}

/**
 * Shadow verification of the native engine in production: a sample of live decisions is re-evaluated by
 * cedar-wasm on a worker thread at the lowest priority and compared (compare-answers.ts). A disagreement is
 * counted (authzd_engine_disagreements_total, alerted on) and logged with the request's shape, never its
 * values, and both answers. It never touches the decision: the answer already went out, and a verifier
 * that is slow, full or dead costs a dropped sample, not a check.
 */
export class EngineVerifier {
  readonly #options: VerifierOptions;
  readonly #random: () => number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #nextSet = 0;
  #channel: Channel | undefined;
  #lastStart = -Infinity;
  /** The set prepared last, so a restarted thread can be given it again under the same number. */
  #current: { readonly set: number; readonly model: PolicyModel } | undefined;
  /** Sets the verifier holds (or will have by the time a sample sent now reaches it). */
  readonly #loaded = new Set<number>();

  constructor(options: VerifierOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  get enabled(): boolean {
    return this.#options.sample > 0;
  }

  /**
   * Numbers a prepared set and sends its model to the verifier, a chunk per event-loop turn; samples of the
   * set count once it is there. Returns the number offer and retire take.
   */
  load(model: PolicyModel): number {
    const set = this.#nextSet++;
    if (!this.enabled) return set;
    this.#current = { set, model };
    const channel = this.#open();
    if (channel !== undefined) void this.#send(channel, set, model);
    return set;
  }

  /** The set numbered `set` serves no request any more. */
  retire(set: number): void {
    this.#loaded.delete(set);
    this.#channel?.post({ type: 'retire', set });
  }

  /** Maybe re-evaluates `call`, decided as `answer` with set number `set` (policy `version`). Cheap when not sampled. */
  offer(set: number, version: string, call: CedarCall, answer: EngineAnswer): void {
    if (this.#random() >= this.#options.sample) return;
    const { engineVerifications } = this.#options.metrics;
    if (this.#pending.size >= this.#options.queue || !this.#loaded.has(set)) {
      engineVerifications.inc({ result: 'dropped' });
      return;
    }
    const channel = this.#channel ?? this.#reopen();
    if (channel === undefined) {
      engineVerifications.inc({ result: 'dropped' });
      return;
    }
    const id = this.#nextId++;
    this.#pending.set(id, { version, call, answer });
    channel.post({ type: 'verify', id, set, call });
  }

  /** Samples still being verified. */
  get inFlight(): number {
    return this.#pending.size;
  }

  async close(): Promise<void> {
    const channel = this.#channel;
    this.#channel = undefined;
    this.#dropPending();
    await channel?.close();
  }

  #onReply(reply: FromVerifier): void {
    const { engineVerifications, engineDisagreements } = this.#options.metrics;
    if (reply.type === 'load-failed') {
      this.#loaded.delete(reply.set);
      this.#options.logger.warn(
        { version: this.#current?.set === reply.set ? this.#current.model.version : undefined, err: reply.message },
        'engine verifier could not prepare the policy set; its decisions are not verified',
      );
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (reply.type !== 'answer') {
      engineVerifications.inc({ result: 'skipped' });
      return;
    }
    const result = compareAnswers(pending.answer, reply.answer);
    engineVerifications.inc({ result: result === 'inconclusive' ? 'skipped' : result });
    if (result !== 'disagree') return;
    engineDisagreements.inc();
    this.#options.logger.error(
      {
        version: pending.version,
        request: redactCall(pending.call),
        engine: summarize(pending.answer),
        cedarWasm: summarize(reply.answer),
      },
      'engine disagreement: the decision differs from cedar-wasm on the same request',
    );
  }

  #open(): Channel | undefined {
    if (this.#channel !== undefined) return this.#channel;
    this.#lastStart = performance.now();
    this.#channel = existsSync(fileURLToPath(WORKER)) ? this.#workerChannel() : this.#inThreadChannel();
    return this.#channel;
  }

  /** After the thread died: start it again (not more than once a minute) and give it the current set. */
  #reopen(): Channel | undefined {
    if (performance.now() - this.#lastStart < RESTART_MS || this.#current === undefined) return undefined;
    const { set, model } = this.#current;
    const channel = this.#open();
    if (channel !== undefined) void this.#send(channel, set, model);
    return undefined;
  }

  async #send(channel: Channel, set: number, model: PolicyModel): Promise<void> {
    for (const piece of exportModel(model, CHUNK)) {
      if (this.#channel !== channel) return;
      channel.post(
        'parts' in piece ? { type: 'model', set, json: piece.parts } : { type: 'entities', set, json: piece.entities },
      );
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Retired while it was being sent (a quick second activation): the verifier drops what it got.
    if (this.#channel !== channel || this.#current?.set !== set) return;
    channel.post({ type: 'loaded', set });
    this.#loaded.add(set);
  }

  #workerChannel(): Channel {
    const worker = new Worker(WORKER, {
      workerData: {
        validateRequests: this.#options.validateRequests,
        maxRequestEntities: this.#options.maxRequestEntities,
      },
    });
    worker.on('message', (reply: FromVerifier) => this.#onReply(reply));
    const lost = (why: string) => {
      if (this.#channel?.post !== post) return;
      this.#channel = undefined;
      this.#loaded.clear();
      this.#dropPending();
      this.#options.logger.warn(
        { err: why },
        'engine verifier thread stopped; decisions are not verified until it restarts',
      );
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    // After the listeners: adding a 'message' listener refs the worker again, and a referenced verifier
    // would keep a process that failed to start (or finished) alive.
    worker.unref();
    const post = (message: ToVerifier) => worker.postMessage(message);
    return {
      post,
      close: async () => {
        this.#channel = undefined;
        await worker.terminate();
      },
    };
  }

  /** Running from TypeScript sources (unit tests) there is no compiled worker: the same work, a turn later. */
  #inThreadChannel(): Channel {
    const oracle = new OracleSets({
      validateRequests: this.#options.validateRequests,
      maxRequestEntities: this.#options.maxRequestEntities,
    });
    let open = true;
    return {
      post: (message) =>
        setImmediate(() => {
          if (!open) return;
          const reply = oracle.handle(message);
          if (reply !== undefined) this.#onReply(reply);
        }),
      close: async () => {
        open = false;
      },
    };
  }

  #dropPending(): void {
    if (this.#pending.size > 0)
      this.#options.metrics.engineVerifications.inc({ result: 'dropped' }, this.#pending.size);
    this.#pending.clear();
  }
}

function summarize(answer: EngineAnswer): unknown {
  if (answer.kind !== 'decision') return { kind: answer.kind };
  return {
    decision: answer.allow ? 'allow' : 'deny',
    determining: answer.determining,
    errored: answer.errored.map((e) => e.policyId),
  };
}

/**
 * The request as a shape: entity uids (the audit event carries them too) and, for context and the
 * principal's attributes, each value's type in place of the value, so claims and headers never reach the log.
 */
export function redactCall(call: CedarCall): unknown {
  return {
    principal: call.principal,
    action: call.action,
    resource: call.resource,
    context: shape(call.context),
    ...(call.principalEntity !== undefined
      ? { principalAttributes: shape(call.principalEntity.attrs), principalParents: call.principalEntity.parents }
      : {}),
  };
}

function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shape(v);
    return out;
  }
  return typeof value;
}
