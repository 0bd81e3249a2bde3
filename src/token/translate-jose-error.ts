import type { TokenReason } from '../contract/reasons.js';
import { KeySetUnavailableError, UnusableKeyError } from './issuer-key-set.js';

// The one place jose's errors become reason codes. jose gives every error a stable `code` and, for claim
// failures, the `claim` that failed; messages are never matched.
export function translateJoseError(err: unknown): TokenReason | 'jwks_unavailable' {
  if (err instanceof KeySetUnavailableError) return 'jwks_unavailable';
  if (err instanceof UnusableKeyError) return 'token_key_unknown';
  const { code, claim } = (err ?? {}) as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token_expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      switch (claim) {
        case 'nbf':
          return 'token_not_yet_valid';
        case 'iat':
          return 'token_issued_in_future';
        case 'aud':
          return 'token_audience_invalid';
        case 'iss':
          return 'token_issuer_unknown';
        case 'typ':
          return 'token_type_invalid';
        default:
          return 'token_claims_invalid';
      }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token_signature_invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token_algorithm_not_allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'token_key_unknown';
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return 'token_malformed';
    default:
      // jose raises a TypeError when the matching key is unusable for the algorithm (an RSA modulus under
      // 2048 bits, a key of the wrong type): the token cannot be verified with an acceptable key.
      return 'token_key_unknown';
  }
}
