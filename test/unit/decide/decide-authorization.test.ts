import { describe, expect, it } from 'vitest';

import type { AuthorizeRequest } from '../../../src/decide/authorize-codec.js';
import { decideAuthorization } from '../../../src/decide/decide-authorization.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

const engine = new CedarWasmEngine({ validateRequests: true });
const store = new PolicyStore(engine);
store.activate(compilePolicyModel(examplePolicyFiles(), 'v-test'));

const context = (sub: string) => ({
  request: {
    method: 'GET',
    path: '/accounts/x',
    host: 'bank.example',
    scheme: 'https',
    routeId: 'get-account',
    time: 1_800_000_000,
  },
  token: { iss: 'https://login.example.com/', sub, exp: 1_800_003_600, scope: [], amr: [] },
});

const request = (sub: string, tenant: string, account: string, roles: string[] = []): AuthorizeRequest => ({
  principal: {
    uid: { type: 'Bank::User', id: sub },
    attrs: { tenant },
    parents: roles.map((id) => ({ type: 'Bank::Role', id })),
  },
  action: { type: 'Bank::Action', id: 'readAccount' },
  resource: { type: 'Bank::Account', id: account },
  context: context(sub),
});

function decide(r: AuthorizeRequest) {
  const set = store.acquire()!;
  try {
    return decideAuthorization(engine, set, r, 'decision-1').answer;
  } finally {
    store.release(set);
  }
}

describe('decideAuthorization', () => {
  it('allows the owner (resource attributes come from the entity store)', () => {
    expect(decide(request('alice', 'acme', 'acc-1001'))).toEqual({
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['account-owner-read'],
      policyVersion: 'v-test',
      decisionId: 'decision-1',
    });
  });

  it('allows through a role given as a parent, and denies across tenants with the forbid', () => {
    expect(decide(request('tina', 'acme', 'acc-1001', ['teller']))).toMatchObject({
      decision: 'allow',
      policies: ['teller-read'],
    });
    expect(decide(request('tina', 'globex', 'acc-1001', ['teller']))).toMatchObject({
      decision: 'deny',
      reason: 'policy_denied',
      policies: ['tenant-isolation'],
    });
  });

  it('denies without a matching permit, and reports a request that does not fit the schema', () => {
    expect(decide(request('mallory', 'acme', 'acc-1001'))).toMatchObject({
      decision: 'deny',
      reason: 'no_matching_permit',
      policies: [],
    });
    expect(decide({ ...request('alice', 'acme', 'acc-1001'), context: {} })).toMatchObject({
      decision: 'deny',
      reason: 'schema_mismatch',
    });
  });
});
