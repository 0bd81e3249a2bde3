import { describe, expect, it } from 'vitest';

import { extractRequest } from '../../../src/check/extract-request.js';
import { riskSignals } from '../../../src/check/risk-signals.js';
import { createPeerTrust } from '../../../src/check/trusted-peer.js';
import { workloadIdentity } from '../../../src/check/workload-identity.js';
import { ConfigSchema } from '../../../src/config/config-schema.js';

const facts = (opts: { principal?: string; ip?: string; headers?: Record<string, string>; metadata?: any }) => {
  const r = extractRequest(
    {
      attributes: {
        source: {
          address: { socket_address: { address: opts.ip ?? '10.0.0.1', port_value: 1 } },
          ...(opts.principal ? { principal: opts.principal } : {}),
        },
        request: { http: { method: 'GET', path: '/x', headers: opts.headers ?? {} } },
        ...(opts.metadata ? { metadata_context: { filter_metadata: opts.metadata } } : {}),
      },
    },
    0,
  );
  if (!r.ok) throw new Error(r.detail);
  return r.facts;
};

const XFCC =
  'By=spiffe://cluster.local/ns/edge/sa/gateway;Hash=abc;URI=spiffe://cluster.local/ns/x/sa/first,By=spiffe://a;URI="spiffe://cluster.local/ns/bank/sa/ledger"';

describe('peer trust and workload identity', () => {
  const trust = createPeerTrust({
    principals: ['spiffe://cluster.local/ns/edge/sa/gateway'],
    cidrs: ['192.168.0.0/16', '::1/128'],
  });

  it('trusts peers by SPIFFE ID or address range only', () => {
    expect(trust(facts({ principal: 'spiffe://cluster.local/ns/edge/sa/gateway' }).source)).toBe(true);
    expect(trust(facts({ ip: '192.168.4.2' }).source)).toBe(true);
    expect(trust(facts({ ip: '::1' }).source)).toBe(true);
    expect(trust(facts({ ip: '10.0.0.1' }).source)).toBe(false);
    expect(createPeerTrust({ principals: [], cidrs: [] })(facts({}).source)).toBe(false);
    expect(() => createPeerTrust({ principals: [], cidrs: ['nonsense/8'] })).toThrow(/trustedPeers.cidrs/);
  });

  it('takes the mTLS principal, and a forwarded client cert only from a trusted peer', () => {
    expect(workloadIdentity(facts({ principal: 'spiffe://direct' }), false)).toBe('spiffe://direct');
    const viaProxy = facts({ ip: '192.168.1.1', headers: { 'x-forwarded-client-cert': XFCC } });
    expect(workloadIdentity(viaProxy, trust(viaProxy.source))).toBe('spiffe://cluster.local/ns/bank/sa/ledger');
    const forged = facts({ ip: '10.0.0.9', headers: { 'x-forwarded-client-cert': XFCC } });
    expect(workloadIdentity(forged, trust(forged.source))).toBeUndefined();
  });
});

describe('risk signals', () => {
  const config = ConfigSchema.parse({
    riskSignals: {
      metadataNamespace: 'risk.engine',
      headers: { score: 'X-Risk-Score', deviceTrust: 'x-device-trust' },
    },
  }).riskSignals;

  it('reads Envoy metadata, and headers only from a trusted peer', () => {
    const meta = facts({
      metadata: { 'risk.engine': { fields: { score: { numberValue: 42 }, deviceTrust: { stringValue: 'managed' } } } },
    });
    expect(riskSignals(meta, config, false, 3)).toEqual({ recentRequests: 3, score: 42, deviceTrust: 'managed' });
    const headers = facts({ headers: { 'x-risk-score': '90', 'x-device-trust': 'unmanaged' } });
    expect(riskSignals(headers, config, false, 1)).toEqual({ recentRequests: 1 });
    expect(riskSignals(headers, config, true, 1)).toEqual({ recentRequests: 1, score: 90, deviceTrust: 'unmanaged' });
  });

  it('leaves out values that do not parse', () => {
    const junk = facts({
      headers: { 'x-risk-score': '9e9', 'x-device-trust': 'a b' },
      metadata: { 'risk.engine': { fields: { score: { numberValue: 1.5 } } } },
    });
    expect(riskSignals(junk, config, true, 0)).toEqual({ recentRequests: 0 });
  });
});
