import type { CedarCall } from '../contract/cedar-call.js';
import { encodeAuthorizeRequest, parseAuthorizeAnswer } from '../decide/authorize-codec.js';
import type { Evaluation } from '../decide/evaluate-call.js';

export interface RemoteOptions {
  readonly url: string;
  readonly token: string | undefined;
  /** At most this many calls in flight; beyond it a call fails at once (overloaded). */
  readonly maxConcurrent: number;
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit stays open before one call may try again. */
  readonly cooldownMs: number;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

export type RemoteAnswer =
  | { readonly ok: true; readonly evaluation: Evaluation; readonly policyVersion: string; readonly ms: number }
  | { readonly ok: false; readonly result: 'timeout' | 'error' | 'circuit_open' | 'overloaded'; readonly ms: number };

/**
 * The remote tier: the control plane's `POST /v1/authorize`, evaluated with its freshest policy and entity
 * data. Every call has a deadline (the route class's budget); failures open a circuit breaker so a dead
 * control plane costs no more than a map lookup per request until the cooldown passes; concurrency is
 * bounded; identical calls in flight share one request.
 */
export class RemoteDecider {
  readonly #options: RemoteOptions;
  readonly #inflight = new Map<string, Promise<RemoteAnswer>>();
  #active = 0;
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  constructor(options: RemoteOptions) {
    this.#options = options;
  }

  get circuitOpen(): boolean {
    return this.#failures >= this.#options.failureThreshold && this.#now() < this.#openUntil;
  }

  /**
   * `traceparent`: the calling stage's trace context, sent along so that the control plane's span of the
   * call is its child (tracing on). Calls that share a request in flight share the first one's.
   */
  decide(call: CedarCall, budgetMs: number, key: string, traceparent?: string): Promise<RemoteAnswer> {
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const promise = this.#decide(call, budgetMs, traceparent).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #decide(call: CedarCall, budgetMs: number, traceparent: string | undefined): Promise<RemoteAnswer> {
    const started = this.#now();
    const ms = () => this.#now() - started;
    // Open: fail fast until the cooldown has passed; then one call probes (half-open) while the others keep
    // failing fast, so a dead remote sees one call per cooldown rather than a burst of budget-long waits.
    const open = this.#failures >= this.#options.failureThreshold;
    if (open && (started < this.#openUntil || this.#probing)) return { ok: false, result: 'circuit_open', ms: 0 };
    if (this.#active >= this.#options.maxConcurrent) return { ok: false, result: 'overloaded', ms: 0 };
    const probe = open;
    if (probe) this.#probing = true;
    this.#active++;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
      if (traceparent !== undefined) headers.traceparent = traceparent;
      const response = await (this.#options.fetch ?? fetch)(this.#options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(encodeAuthorizeRequest(call)),
        signal: AbortSignal.timeout(budgetMs),
        redirect: 'error',
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        return this.#failed('error', ms());
      }
      const answer = parseAuthorizeAnswer(await response.json());
      if (answer === undefined) return this.#failed('error', ms());
      this.#failures = 0;
      return { ok: true, evaluation: answer.evaluation, policyVersion: answer.policyVersion, ms: ms() };
    } catch (err) {
      const name = (err as { name?: string }).name;
      return this.#failed(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error', ms());
    } finally {
      this.#active--;
      if (probe) this.#probing = false;
    }
  }

  #failed(result: 'timeout' | 'error', ms: number): RemoteAnswer {
    this.#failures++;
    if (this.#failures >= this.#options.failureThreshold) this.#openUntil = this.#now() + this.#options.cooldownMs;
    return { ok: false, result, ms };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
