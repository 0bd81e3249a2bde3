import type { Logger } from '../telemetry/create-logger.js';
import type { Readiness } from './health-service.js';

/**
 * Readiness as the conjunction of what a sidecar needs to decide: a policy set, a key set for every issuer,
 * a revocation list it may trust (each a named condition with the reason it fails), and not shutting down.
 * Drives the shared Readiness (gRPC health, /readyz, authzd_ready) and says in the log why it changes:
 * `authzd ready` with `context` (the bound ports) whenever it becomes ready, `authzd not ready` with every
 * failing condition whenever the set of failing conditions changes (`authzd listening; not ready yet` the
 * first time). Nothing is logged before open(), which start-up calls once its listeners are bound.
 */
export class ReadinessGate {
  readonly #readiness: Readiness;
  readonly #logger: Logger;
  readonly #problems = new Map<string, string>();
  #context: (() => Record<string, unknown>) | undefined;
  #stopped = false;
  #reported: string | undefined;

  constructor(readiness: Readiness, logger: Logger) {
    this.#readiness = readiness;
    this.#logger = logger;
  }

  /** Records one condition: `problem` says why it fails, undefined means it holds. */
  set(condition: string, problem: string | undefined): void {
    if (problem === undefined) this.#problems.delete(condition);
    else this.#problems.set(condition, problem);
    this.#update();
  }

  /** The failing conditions and why. */
  problems(): string[] {
    return [...this.#problems.values()];
  }

  /** Starts reporting (listeners are bound; what `context` returns goes into every line). */
  open(context: () => Record<string, unknown>): void {
    this.#context = context;
    this.#update();
  }

  /** Shutting down: not ready from now on, for good. */
  stop(): void {
    this.#stopped = true;
    this.#readiness.set('NOT_SERVING');
  }

  #update(): void {
    if (this.#stopped) return;
    const ready = this.#problems.size === 0;
    this.#readiness.set(ready ? 'SERVING' : 'NOT_SERVING');
    if (this.#context === undefined) return;
    const key = ready ? '' : [...this.#problems.keys()].sort().join('\n');
    if (key === this.#reported) return;
    const first = this.#reported === undefined;
    this.#reported = key;
    if (ready) this.#logger.info(this.#context(), 'authzd ready');
    else
      this.#logger.warn(
        { ...this.#context(), problems: this.problems() },
        first ? 'authzd listening; not ready yet' : 'authzd not ready',
      );
  }
}
