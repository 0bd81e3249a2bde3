import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { parseProcStat, parseVmHwm, treeCpuSeconds, treePeakRssBytes } from '../../../bench/lib/proc-stats.mjs';

describe('parseProcStat', () => {
  it('reads ppid, utime and stime even when the command name holds spaces and parentheses', () => {
    const line = '4242 (node (worker) 1) S 4200 4242 4200 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 11 0 100 0 0';
    expect(parseProcStat(line)).toEqual({
      pid: 4242,
      comm: 'node (worker) 1',
      ppid: 4200,
      utimeTicks: 1234,
      stimeTicks: 56,
    });
  });

  it('parses this process’s own stat line', () => {
    const own = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(own.ppid).toBeGreaterThan(0);
    expect(own.utimeTicks).toBeGreaterThanOrEqual(0);
  });
});

describe('parseVmHwm', () => {
  it('returns the peak resident set in bytes', () => {
    expect(parseVmHwm('Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n')).toBe(51200 * 1024);
    expect(() => parseVmHwm('Name:\tnode\n')).toThrow(/VmHWM/);
  });
});

describe('process tree figures', () => {
  it('measure the running process and nothing for a pid that does not exist', () => {
    expect(treeCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(treePeakRssBytes(process.pid)).toBeGreaterThan(1024 * 1024);
    expect(treeCpuSeconds(2 ** 22 + 1)).toBeUndefined();
  });
});
