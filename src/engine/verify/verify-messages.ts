import type { CedarCall } from '../../contract/cedar-call.js';
import type { EngineAnswer } from '../decision-engine.js';

/** From the serving thread to the verifier. Models arrive as policy/model-parts.ts encodes them. */
export type ToVerifier =
  | { readonly type: 'model'; readonly version: string; readonly json: string }
  | { readonly type: 'entities'; readonly version: string; readonly json: string }
  | { readonly type: 'loaded'; readonly version: string }
  | { readonly type: 'retire'; readonly version: string }
  | { readonly type: 'verify'; readonly id: number; readonly version: string; readonly call: CedarCall };

/** From the verifier: cedar-wasm's answer to a sample, or why there is none. */
export type FromVerifier =
  | { readonly type: 'answer'; readonly id: number; readonly answer: EngineAnswer }
  | { readonly type: 'unknown-version'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'load-failed'; readonly version: string; readonly message: string };
