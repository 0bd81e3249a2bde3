// The one module that loads @cedar-policy/cedar-wasm. Everything else talks to Cedar through it.
import { createRequire } from 'node:module';
import v8 from 'node:v8';

// Node 20's V8 crashes ("unreachable code" in Deoptimizer::DoComputeBuiltinContinuation) after ~1,000
// statefulIsAuthorized calls on a large policy set followed by a call with a large entity slice. Turning
// off the inlining of JS->wasm calls prevents it; it must be set before the wasm module is loaded and
// NODE_OPTIONS refuses the flag, so it is set here, in the only place that loads Cedar, as well as in
// each entry point. test/integration/v8-deopt-regression.test.ts keeps the crashing workload.
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

type CedarWasm = typeof import('@cedar-policy/cedar-wasm/nodejs');

// The default ESM build of cedar-wasm needs a bundler; the nodejs build is CommonJS.
const require = createRequire(import.meta.url);
let loaded: CedarWasm | undefined;

/** Whether this thread has loaded cedar-wasm (tests assert a native-engine sidecar's serving thread never does). */
export const cedarLoaded = (): boolean => loaded !== undefined;

/**
 * cedar-wasm, loaded on first use. Loading compiles a 4 MB module (~16 MiB resident) and the first calls
 * add ~30 MiB more; a sidecar deciding with the native engine validates policy sets on the compile worker
 * and never calls Cedar on its serving thread, so it should not pay that in every pod.
 */
export const cedar: CedarWasm = new Proxy({} as CedarWasm, {
  get(_, name) {
    loaded ??= require('@cedar-policy/cedar-wasm/nodejs') as CedarWasm;
    return loaded[name as keyof CedarWasm];
  },
});

export type * from '@cedar-policy/cedar-wasm/nodejs';
