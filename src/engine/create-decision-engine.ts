import type { Config } from '../config/config-schema.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { CedarWasmEngine } from './cedar-wasm/cedar-wasm-engine.js';
import type { DecisionEngine } from './decision-engine.js';
import { NativeDecisionEngine } from './native/native-decision-engine.js';
import { EngineVerifier } from './verify/engine-verifier.js';
import { VerifiedEngine } from './verify/verified-engine.js';

/**
 * The engine policies.engine names; with the native engine and engine.verifySample > 0, wrapped so a sample
 * of its decisions is verified by cedar-wasm. `unverified` is the same engine unwrapped, for sets whose
 * decisions are not served (the shadow policy set); `verifier` is closed with the sidecar.
 */
export function createDecisionEngine(
  config: Pick<Config, 'policies' | 'engine'>,
  telemetry?: { readonly metrics: Metrics; readonly logger: Logger },
): {
  readonly engine: DecisionEngine;
  readonly unverified: DecisionEngine;
  readonly verifier: EngineVerifier | undefined;
} {
  const { policies } = config;
  if (policies.engine === 'cedar-wasm') {
    const engine = new CedarWasmEngine({
      validateRequests: policies.validateRequests,
      slicing: policies.slicing,
      maxRequestEntities: policies.maxRequestEntities,
    });
    return { engine, unverified: engine, verifier: undefined };
  }
  const native = new NativeDecisionEngine({ validateRequests: policies.validateRequests });
  if (telemetry === undefined || config.engine.verifySample === 0)
    return { engine: native, unverified: native, verifier: undefined };
  const verifier = new EngineVerifier({
    sample: config.engine.verifySample,
    queue: config.engine.verifyQueue,
    validateRequests: policies.validateRequests,
    maxRequestEntities: policies.maxRequestEntities,
    metrics: telemetry.metrics,
    logger: telemetry.logger,
  });
  return { engine: new VerifiedEngine(native, verifier), unverified: native, verifier };
}
