import type { RequestFacts } from './extract-request.js';

const URI = /(?:^|;)URI=("?)([^;,"]+)\1/;

/**
 * The calling workload's identity: the SPIFFE ID Envoy took from the mTLS peer certificate, or, when the
 * peer is a trusted proxy, the URI SAN of the last element of `x-forwarded-client-cert` (the element that
 * proxy added about its own client). Anything else is not an identity.
 */
export function workloadIdentity(facts: RequestFacts, peerTrusted: boolean): string | undefined {
  const direct = facts.source.principal;
  if (!peerTrusted) return direct;
  const xfcc = facts.http?.header('x-forwarded-client-cert');
  if (xfcc === undefined || xfcc.length > 16_384) return direct;
  const elements = xfcc.split(',');
  const forwarded = URI.exec(elements[elements.length - 1]!)?.[2];
  return forwarded !== undefined && forwarded.startsWith('spiffe://') ? forwarded : direct;
}
