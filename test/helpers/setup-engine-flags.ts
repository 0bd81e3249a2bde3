// Same guard as every entry point: set before any test file can load cedar-wasm (see src/policy/cedar.ts).
import '../../src/engine-flags.js';
