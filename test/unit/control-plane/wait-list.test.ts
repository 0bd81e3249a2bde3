import { afterEach, describe, expect, it, vi } from 'vitest';

import { WaitList, type WakeReason } from '../../../src/control-plane/wait-list.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('WaitList', () => {
  it('wakes every waiter once on a change and forgets them', () => {
    const sizes: number[] = [];
    const list = new WaitList({ onSize: (n) => sizes.push(n) });
    const woken: WakeReason[] = [];
    for (let i = 0; i < 3; i++) list.add(Date.now() + 60_000, (r) => woken.push(r));
    list.wakeAll('changed');
    list.wakeAll('changed');
    expect(woken).toEqual(['changed', 'changed', 'changed']);
    expect(list.size).toBe(0);
    expect(sizes).toEqual([1, 2, 3, 0]);
  });

  it('times waiters out with one shared timer, which stops when nobody waits', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const list = new WaitList({ tickMs: 250 });
    const woken: string[] = [];
    for (let i = 0; i < 1000; i++) list.add(Date.now() + 1_000, () => woken.push(`short-${i}`));
    list.add(Date.now() + 5_000, (r) => woken.push(`long:${r}`));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(woken).toHaveLength(1000);
    expect(list.size).toBe(1);
    vi.advanceTimersByTime(4_000);
    expect(woken.at(-1)).toBe('long:timeout');
    expect(list.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never wakes a cancelled waiter (a client that disconnected)', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const sizes: number[] = [];
    const list = new WaitList({ onSize: (n) => sizes.push(n) });
    const wake = vi.fn();
    const cancel = list.add(Date.now() + 1_000, wake);
    cancel();
    cancel();
    expect(list.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2_000);
    list.wakeAll('closing');
    expect(wake).not.toHaveBeenCalled();
    expect(sizes).toEqual([1, 0]);
  });

  it('lets a woken waiter park again for the next change', () => {
    const list = new WaitList();
    const seen: WakeReason[] = [];
    const park = () =>
      list.add(Date.now() + 60_000, (r) => {
        seen.push(r);
        if (seen.length === 1) park();
      });
    park();
    list.wakeAll('changed');
    expect(list.size).toBe(1);
    list.wakeAll('closing');
    expect(seen).toEqual(['changed', 'closing']);
  });
});
