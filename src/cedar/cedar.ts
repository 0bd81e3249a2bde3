// The one module that loads @cedar-policy/cedar-wasm. Everything else talks to Cedar through it.
import { createRequire } from 'node:module';
import v8 from 'node:v8';

// Node 20's V8 crashes ("unreachable code" in Deoptimizer::DoComputeBuiltinContinuation) after ~1,000
// statefulIsAuthorized calls on a large policy set followed by a call with a large entity slice. Turning
// off the inlining of JS->wasm calls prevents it; it must be set before the wasm module is loaded and
// NODE_OPTIONS refuses the flag, so it is set here, in the only place that loads Cedar, as well as in
// each entry point. test/integration/v8-deopt-regression.test.ts keeps the crashing workload.
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

// The default ESM build of cedar-wasm needs a bundler; the nodejs build is CommonJS.
const require = createRequire(import.meta.url);
export const cedar = require('@cedar-policy/cedar-wasm/nodejs') as typeof import('@cedar-policy/cedar-wasm/nodejs');

export type * from '@cedar-policy/cedar-wasm/nodejs';
