import type { EntityUid } from '../contract/cedar-call.js';
import type { RateLimitState } from '../contract/decision.js';
import type { RiskClassSettings } from '../policy/routes-schema.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * The rate-limit stage: one token from the principal's bucket of the route's risk class, then one from its
 * tenant's. Undefined: within the limits (or the class has none); else what a 429 tells the client.
 */
export function limitRate(
  limiter: RateLimiter,
  riskName: string,
  riskClass: RiskClassSettings,
  principal: EntityUid,
  tenant: string | undefined,
  nowMs: number,
): RateLimitState | undefined {
  const { perPrincipal, perTenant } = riskClass.rateLimit;
  if (perPrincipal !== undefined) {
    const wait = limiter.take(`principal:${riskName}:${principal.type}:${principal.id}`, perPrincipal, nowMs);
    if (wait > 0)
      return {
        scope: 'principal',
        burst: perPrincipal.burst,
        windowSeconds: Math.max(1, Math.ceil(perPrincipal.burst / perPrincipal.rps)),
        retryAfterSeconds: wait,
      };
  }
  if (perTenant !== undefined && tenant !== undefined) {
    const wait = limiter.take(`tenant:${riskName}:${tenant}`, perTenant, nowMs);
    if (wait > 0)
      return {
        scope: 'tenant',
        burst: perTenant.burst,
        windowSeconds: Math.max(1, Math.ceil(perTenant.burst / perTenant.rps)),
        retryAfterSeconds: wait,
      };
  }
  return undefined;
}
