// Same guard as every entry point: set before any test file can load cedar-wasm (see src/cedar/cedar.ts).
import '../../src/cedar/engine-flags.js';
