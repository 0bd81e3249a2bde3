// The request mixes of the scenarios. Each message is a pre-encoded CheckRequest plus the decision its
// design calls for ("allow|policy_allowed", "deny|policy_denied", ...), so the harness can check the
// server's own decision counters against what was sent, not only count answered calls.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resourceAt, TENANTS, USERS } from '../generate-policy-set.mjs';
import { encodeCheckRequest, httpCheckRequest } from './check-requests.mjs';
import { seededRandom } from './random.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLE_POLICIES = path.join(ROOT, 'policies');
const EXAMPLE_TENANTS = ['acme', 'globex', 'initech', 'umbrella'];
const ALLOW = 'allow|policy_allowed';
const FORBIDDEN = 'deny|policy_denied';

const message = (request, expect) => ({ bytes: encodeCheckRequest(request), expect });

/**
 * The example policies (policies/*.cedar, schema, routes) with an entity store of `accounts` accounts over
 * four tenants, instead of the example's three. Account n: acc-<n>, tenant EXAMPLE_TENANTS[n mod 4],
 * owned by `owner(n)`, frozen when n mod 20 == 19.
 */
export function examplePolicyFiles({ accounts, owner }) {
  // Whatever the example holds today (policies, schema, routes and their risk classes), only the entities are ours.
  const files = new Map();
  for (const name of readdirSync(EXAMPLE_POLICIES).sort()) {
    if (name.endsWith('.cedar') || name === 'schema.cedarschema' || name === 'routes.yaml')
      files.set(name, readFileSync(path.join(EXAMPLE_POLICIES, name), 'utf8'));
  }
  const ref = (type, id) => `{"type":"Bank::${type}","id":${JSON.stringify(id)}}`;
  const lines = [
    `{"uid":${ref('Role', 'customer')},"attrs":{},"parents":[]}`,
    `{"uid":${ref('Role', 'teller')},"attrs":{},"parents":[]}`,
    `{"uid":${ref('Role', 'admin')},"attrs":{},"parents":[${ref('Role', 'teller')}]}`,
    `{"uid":${ref('Role', 'tenant-admin')},"attrs":{},"parents":[]}`,
  ];
  for (const t of EXAMPLE_TENANTS) {
    lines.push(`{"uid":${ref('Tenant', t)},"attrs":{"tenant":"${t}","plan":"enterprise"},"parents":[]}`);
    lines.push(`{"uid":${ref('CustomerRecords', t)},"attrs":{"tenant":"${t}"},"parents":[${ref('Tenant', t)}]}`);
  }
  for (let n = 0; n < accounts; n++) {
    const t = EXAMPLE_TENANTS[n % 4];
    lines.push(
      `{"uid":${ref('Account', `acc-${n}`)},"attrs":{"tenant":"${t}","owner":{"__entity":${ref('User', owner(n))}},"status":"${n % 20 === 19 ? 'frozen' : 'open'}"},"parents":[${ref('Tenant', t)}]}`,
    );
  }
  files.set('entities.json', `[\n${lines.join(',\n')}\n]\n`);
  return files;
}

/** 300 users of four tenants and roles, 400 accounts; each user's token is re-used for all their calls. */
const WARM_USERS = 300;
const WARM_ACCOUNTS = 400;

function warmUsers() {
  const users = [];
  for (let i = 0; i < WARM_USERS; i++) {
    const slot = i % 20;
    const role = slot < 15 ? 'customer' : slot < 18 ? 'teller' : slot === 18 ? 'admin' : 'tenant-admin';
    const scope = {
      customer: 'accounts:read payments:write',
      teller: 'accounts:read',
      admin: 'accounts:read customers:export',
      'tenant-admin': 'billing:write',
    }[role];
    users.push({
      sub: `user-${i}`,
      tenant: EXAMPLE_TENANTS[i % 4],
      roles: [role],
      scope,
      ...(role === 'customer' && i % 5 !== 0 ? { acr: 'mfa' } : {}),
    });
  }
  return users;
}

/** Accounts owned by customers: account n belongs to the n-th customer of its tenant (round robin). */
function warmAccountOwners(users) {
  const customersByTenant = EXAMPLE_TENANTS.map((t) =>
    users.filter((u) => u.tenant === t && u.roles[0] === 'customer'),
  );
  return (n) => {
    const list = customersByTenant[n % 4];
    return list[Math.floor(n / 4) % list.length].sub;
  };
}

export function warmPolicyFiles() {
  return examplePolicyFiles({ accounts: WARM_ACCOUNTS, owner: warmAccountOwners(warmUsers()) });
}

/**
 * The warm mix: what each role does all day on the example banking API, mostly allowed, with the denials a
 * real API sees (frozen account, transfer without MFA, a customer probing someone else's account). Under
 * heavy load the example's rate limits for high-risk routes (transfers) also answer some calls.
 */
export async function warmMessages(issuer, seed = 1) {
  const rnd = seededRandom(seed);
  const users = warmUsers();
  const owner = warmAccountOwners(users);
  // transfer-requires-mfa also wants a recent login (auth_time within an hour), since #11.
  const authTime = Math.floor(Date.now() / 1000);
  const tokens = await issuer.signMany(users.map((u) => (u.acr === 'mfa' ? { ...u, auth_time: authTime } : u)));
  const accountsOf = new Map();
  for (let n = 0; n < WARM_ACCOUNTS; n++) {
    const o = owner(n);
    if (!accountsOf.has(o)) accountsOf.set(o, []);
    accountsOf.get(o).push(n);
  }
  const inTenant = (t) => Array.from({ length: WARM_ACCOUNTS / 4 }, (_, k) => k * 4 + EXAMPLE_TENANTS.indexOf(t));
  const out = [];
  users.forEach((u, i) => {
    const token = tokens[i];
    const add = (method, p, expect) => out.push(message(httpCheckRequest({ method, path: p, token }), expect));
    switch (u.roles[0]) {
      case 'customer': {
        for (const n of accountsOf.get(u.sub) ?? []) {
          add('GET', `/accounts/acc-${n}`, ALLOW);
          add('GET', `/accounts/acc-${n}`, ALLOW);
          // Frozen: a plain forbid. No MFA: a forbid a stronger login lifts, so the answer is a step-up challenge.
          add(
            'POST',
            `/accounts/acc-${n}/transfers`,
            n % 20 === 19 ? FORBIDDEN : u.acr !== 'mfa' ? 'deny|step_up_required' : ALLOW,
          );
        }
        if (i % 10 === 0) {
          const other = rnd.pick(inTenant(u.tenant).filter((n) => owner(n) !== u.sub));
          add('GET', `/accounts/acc-${other}`, 'deny|no_matching_permit');
        }
        break;
      }
      case 'teller':
        for (let k = 0; k < 4; k++) add('GET', `/accounts/acc-${rnd.pick(inTenant(u.tenant))}`, ALLOW);
        break;
      case 'admin':
        add('GET', `/tenants/${u.tenant}/customers/export`, ALLOW);
        add('GET', `/accounts/acc-${rnd.pick(inTenant(u.tenant))}`, ALLOW);
        break;
      default:
        add('PUT', `/tenants/${u.tenant}/billing-plan`, ALLOW);
        add('PATCH', `/tenants/${u.tenant}/billing-plan`, ALLOW);
    }
  });
  return rnd.shuffle(out);
}

/**
 * Deny-heavy: 30% another tenant's account (tenant-isolation), 30% no route, 30% expired tokens, 10% allowed.
 * Tokens are re-used as in the warm mix; the expired ones expired an hour ago (far beyond clock tolerance).
 */
export async function denyHeavyMessages(issuer, seed = 2) {
  const rnd = seededRandom(seed);
  const users = warmUsers().filter((u) => u.roles[0] === 'teller' || u.roles[0] === 'customer');
  const owner = warmAccountOwners(warmUsers());
  const valid = await issuer.signMany(users);
  const expired = await issuer.signMany(users.map((u) => ({ ...u, expSeconds: Math.floor(Date.now() / 1000) - 3600 })));
  const out = [];
  for (let i = 0; i < 600; i++) {
    const k = rnd.int(users.length);
    const u = users[k];
    const tenantIndex = EXAMPLE_TENANTS.indexOf(u.tenant);
    const sameTenant = () => rnd.int(WARM_ACCOUNTS / 4) * 4 + tenantIndex;
    const otherTenant = () => rnd.int(WARM_ACCOUNTS / 4) * 4 + ((tenantIndex + 1 + rnd.int(3)) % 4);
    const kind = i % 10;
    if (kind < 3)
      out.push(message(httpCheckRequest({ path: `/accounts/acc-${otherTenant()}`, token: valid[k] }), FORBIDDEN));
    else if (kind < 6) {
      const p = rnd.pick([
        `/accounts/acc-${sameTenant()}/statements`,
        `/admin/users/${u.sub}`,
        `/accounts`,
        '/internal/metrics',
      ]);
      out.push(
        message(
          httpCheckRequest({ method: rnd.pick(['GET', 'DELETE']), path: p, token: valid[k] }),
          'deny|route_not_found',
        ),
      );
    } else if (kind < 9)
      out.push(
        message(httpCheckRequest({ path: `/accounts/acc-${sameTenant()}`, token: expired[k] }), 'deny|token_expired'),
      );
    else {
      // Allowed: a teller reads an account of their tenant, a customer one of their own.
      const n =
        u.roles[0] === 'teller'
          ? sameTenant()
          : Array.from({ length: WARM_ACCOUNTS }, (_, m) => m).find((m) => owner(m) === u.sub);
      out.push(
        message(
          httpCheckRequest({ path: `/accounts/acc-${n}`, token: valid[k] }),
          n === undefined ? 'deny|no_matching_permit' : ALLOW,
        ),
      );
    }
  }
  return out;
}

/** Cold: every message has its own token (own sub and jti) and its own account: account n is read by teller n. */
export const COLD_ACCOUNT_CAP = 50_000;

export function coldPolicyFiles(accounts) {
  return examplePolicyFiles({ accounts: Math.min(accounts, COLD_ACCOUNT_CAP), owner: (n) => `owner-${n}` });
}

/** Messages first..first+count-1 of the cold sequence (tenant of account n is EXAMPLE_TENANTS[n mod 4]). */
export async function coldMessages(issuer, first, count, accounts) {
  const cap = Math.min(accounts, COLD_ACCOUNT_CAP);
  const claims = [];
  for (let i = first; i < first + count; i++) {
    claims.push({
      sub: `cold-${i}`,
      jti: `c${i}`,
      tenant: EXAMPLE_TENANTS[(i % cap) % 4],
      roles: ['teller'],
      scope: 'accounts:read',
    });
  }
  const tokens = await issuer.signMany(claims);
  return tokens.map((token, k) =>
    message(httpCheckRequest({ path: `/accounts/acc-${(first + k) % cap}`, token }), ALLOW),
  );
}

/**
 * A mix over a generated policy set (bench/generate-policy-set.mjs): calls spread evenly over its actions
 * and over its whole resource store; 70% of calls by the resource's owner, the rest by any of its users.
 * The design expects no particular answer (the generated shapes interact), so `expect` is left to the
 * server's answer in isolation (the harness's preflight); under load the counters must then match it.
 */
export async function generatedSetMessages(issuer, layout, { count = 600, seed = 3 } = {}) {
  const rnd = seededRandom(seed);
  const users = Array.from({ length: USERS }, (_, u) => {
    const roles = [`role${u % 20}`];
    if (u % 25 === 0) roles.push('admin');
    if (u % 30 === 0) roles.push('auditor');
    return {
      sub: `user${u}`,
      tenant: `tenant${u % TENANTS}`,
      roles,
      scope: u % 7 === 0 ? 'all read' : `read op${u % layout.actions.length}`,
      amr: u % 2 === 0 ? ['mfa'] : ['pwd'],
    };
  });
  const tokens = await issuer.signMany(users);
  const out = [];
  const perType = Math.floor(layout.resourceCount / layout.typeCount);
  for (let i = 0; i < count; i++) {
    const action = layout.actions[i % layout.actions.length];
    const t = Number(action.type.slice(3));
    const n = t + layout.typeCount * rnd.int(perType);
    const resource = resourceAt(layout, n);
    const u = rnd.next() < 0.7 ? Number(resource.owner.slice(4)) : rnd.int(USERS);
    out.push(
      message(
        httpCheckRequest({ method: action.method, path: action.pathFor(resource.id), token: tokens[u] }),
        undefined,
      ),
    );
  }
  return out;
}
