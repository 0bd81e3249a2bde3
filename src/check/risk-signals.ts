import type { CedarValueJson } from '../cedar/cedar.js';
import type { Config } from '../config/config-schema.js';
import type { ProtoValue } from '../contract/check-request.js';
import { DEVICE_TRUST } from '../contract/risk-class.js';
import type { RequestFacts } from './extract-request.js';

/**
 * `context.risk`: signals about this request, taken only from sources that cannot be forged by the
 * client. Envoy metadata under the configured namespace (set by an upstream filter), headers named in the
 * config only when the peer is trusted (createPeerTrust), and authzd's own count of the principal's recent
 * requests. Values that do not parse are left out, never guessed.
 */
export function riskSignals(
  facts: RequestFacts,
  config: Config['riskSignals'],
  peerTrusted: boolean,
  recentRequests: number,
): Record<string, CedarValueJson> {
  const risk: Record<string, CedarValueJson> = { recentRequests };
  const fields =
    config.metadataNamespace !== undefined ? facts.filterMetadata[config.metadataNamespace]?.fields : undefined;
  if (fields !== undefined) {
    const score = scoreOf(fields.score);
    if (score !== undefined) risk.score = score;
    const trust = fields.deviceTrust?.stringValue;
    if (trust !== undefined && DEVICE_TRUST.test(trust)) risk.deviceTrust = trust;
  }
  if (peerTrusted && facts.http !== undefined) {
    if (config.headers.score !== undefined && risk.score === undefined) {
      const raw = facts.http.header(config.headers.score);
      if (raw !== undefined && /^\d{1,4}$/.test(raw)) risk.score = Number(raw);
    }
    if (config.headers.deviceTrust !== undefined && risk.deviceTrust === undefined) {
      const raw = facts.http.header(config.headers.deviceTrust);
      if (raw !== undefined && DEVICE_TRUST.test(raw)) risk.deviceTrust = raw;
    }
  }
  return risk;
}

function scoreOf(value: ProtoValue | undefined): number | undefined {
  const n =
    value?.numberValue ??
    (value?.stringValue !== undefined && /^\d{1,4}$/.test(value.stringValue) ? Number(value.stringValue) : undefined);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 10_000 ? n : undefined;
}
