import { describe, expect, it } from 'vitest';

import { RemoteDecider } from '../../../src/check/remote-decider.js';
import type { CedarCall } from '../../../src/contract/cedar-call.js';

const call: CedarCall = {
  principal: { type: 'U', id: 'alice' },
  action: { type: 'A', id: 'read' },
  resource: { type: 'D', id: 'd1' },
  context: { token: { sub: 'alice' } },
  principalEntity: {
    uid: { type: 'U', id: 'alice' },
    attrs: { tenant: 'acme' },
    parents: [{ type: 'R', id: 'teller' }],
  },
};
const ok = () =>
  new Response(
    JSON.stringify({
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['p'],
      policyVersion: '7-abc',
      decisionId: 'x',
    }),
    { status: 200 },
  );

function decider(
  fetchImpl: (body: any, signal?: AbortSignal) => Promise<Response>,
  options: Partial<ConstructorParameters<typeof RemoteDecider>[0]> = {},
  clock = { t: 0 },
) {
  return new RemoteDecider({
    url: 'http://cp.test/v1/authorize',
    token: 'tok-123',
    maxConcurrent: 4,
    failureThreshold: 2,
    cooldownMs: 1000,
    now: () => clock.t,
    fetch: (async (_url: string, init: RequestInit) =>
      fetchImpl(JSON.parse(init.body as string), init.signal ?? undefined)) as typeof fetch,
    ...options,
  });
}

describe('RemoteDecider', () => {
  it('sends the principal entity, action, resource and context, and reads the decision', async () => {
    let sent: any;
    const d = decider(async (body) => {
      sent = body;
      return ok();
    });
    const answer = await d.decide(call, 100, 'k');
    expect(sent).toEqual({
      principal: { uid: call.principal, attrs: { tenant: 'acme' }, parents: [{ type: 'R', id: 'teller' }] },
      action: call.action,
      resource: call.resource,
      context: call.context,
    });
    expect(answer).toMatchObject({
      ok: true,
      evaluation: { allowed: true, reason: 'policy_allowed', policies: ['p'] },
      policyVersion: '7-abc',
    });
  });

  it('treats a malformed or inconsistent answer as an error', async () => {
    const bad = decider(
      async () =>
        new Response(JSON.stringify({ decision: 'allow', reason: 'policy_denied', policies: [], policyVersion: 'v' }), {
          status: 200,
        }),
    );
    expect(await bad.decide(call, 100, 'k')).toMatchObject({ ok: false, result: 'error' });
    const status = decider(async () => new Response('no', { status: 503 }));
    expect(await status.decide(call, 100, 'k')).toMatchObject({ ok: false, result: 'error' });
  });

  it('times out at the budget', async () => {
    // Like fetch, the fake gives up when the budget's AbortSignal fires.
    const slow = decider(
      (_body, signal) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve(ok()), 500);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        }),
      {},
      { t: 0 },
    );
    const started = Date.now();
    expect(await slow.decide(call, 50, 'k')).toMatchObject({ ok: false, result: 'timeout' });
    expect(Date.now() - started).toBeLessThan(450);
  });

  it('opens the circuit after consecutive failures, fails fast, and probes after the cooldown', async () => {
    let calls = 0;
    let healthy = false;
    const clock = { t: 0 };
    const d = decider(
      async () => {
        calls++;
        return healthy ? ok() : new Response('x', { status: 500 });
      },
      {},
      clock,
    );
    await d.decide(call, 100, 'a');
    await d.decide(call, 100, 'b');
    expect(d.circuitOpen).toBe(true);
    expect(await d.decide(call, 100, 'c')).toMatchObject({ ok: false, result: 'circuit_open' });
    expect(calls).toBe(2);
    clock.t = 1001;
    healthy = true;
    expect(await d.decide(call, 100, 'd')).toMatchObject({ ok: true });
    expect(d.circuitOpen).toBe(false);
  });

  it('bounds concurrency and shares identical calls in flight', async () => {
    let calls = 0;
    const release: (() => void)[] = [];
    const d = decider(
      () =>
        new Promise((resolve) => {
          calls++;
          release.push(() => resolve(ok()));
        }),
      { maxConcurrent: 2 },
    );
    const same = [d.decide(call, 1000, 'same'), d.decide(call, 1000, 'same')];
    const other = d.decide(call, 1000, 'other');
    const overloaded = await d.decide(call, 1000, 'third');
    expect(overloaded).toMatchObject({ ok: false, result: 'overloaded' });
    expect(calls).toBe(2);
    for (const r of release) r();
    const results = await Promise.all([...same, other]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(same[0]).toBe(same[1]);
  });
});
