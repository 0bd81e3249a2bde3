import type { CedarCall } from '../../contract/cedar-call.js';
import type { EngineAnswer } from '../decision-engine.js';

/**
 * From the serving thread to the verifier. Models arrive as policy/model-parts.ts encodes them. A set is
 * named by a number the serving thread gives each prepared set, not by its version: the same version can
 * be prepared again (a reload of unchanged files) while the set it replaces is retired.
 */
export type ToVerifier =
  | { readonly type: 'model'; readonly set: number; readonly json: string }
  | { readonly type: 'entities'; readonly set: number; readonly json: string }
  | { readonly type: 'loaded'; readonly set: number }
  | { readonly type: 'retire'; readonly set: number }
  | { readonly type: 'verify'; readonly id: number; readonly set: number; readonly call: CedarCall };

/** From the verifier: cedar-wasm's answer to a sample, or why there is none. */
export type FromVerifier =
  | { readonly type: 'answer'; readonly id: number; readonly answer: EngineAnswer }
  | { readonly type: 'unknown-set'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'load-failed'; readonly set: number; readonly message: string };
