import type { Expr } from './ast.js';

/**
 * An evaluation error: the policy being evaluated is skipped and reported. Not an Error subclass — no
 * stack trace is captured, so an erroring policy costs no more than a throw. `node` is the sub-expression
 * that raised it (set by the evaluator where the error arises), for explanations.
 */
export class EvalError {
  node: Expr | undefined;
  constructor(readonly message: string) {}
}

export const evalError = (message: string): never => {
  throw new EvalError(message);
};
