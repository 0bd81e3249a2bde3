// Imported first by every entry point that may load the Cedar engine. See src/cedar/cedar.ts for why.
import v8 from 'node:v8';

v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');
