// Server CPU and memory from /proc, for a process and all its descendants (a server that forks workers is
// measured as a whole; threads are already included in their process's figures).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the harness uses. comm may hold spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text) {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const comm = text.slice(text.indexOf('(') + 1, close);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): field n is rest[n - 3].
  return { pid, comm, ppid: Number(rest[1]), utimeTicks: Number(rest[11]), stimeTicks: Number(rest[12]) };
}

/** VmHWM (peak resident set size) from /proc/<pid>/status, in bytes. */
export function parseVmHwm(statusText) {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(statusText);
  if (m === null) throw new Error('no VmHWM line');
  return Number(m[1]) * 1024;
}

let clockTicks;
export function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readStat(pid) {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** pid and every live descendant. */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat === undefined) continue;
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(stat.pid);
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** User + system CPU seconds used so far by the process tree (undefined if the root is gone). */
export function treeCpuSeconds(pid) {
  if (readStat(pid) === undefined) return undefined;
  let ticks = 0;
  for (const p of processTree(pid)) {
    const s = readStat(p);
    if (s !== undefined) ticks += s.utimeTicks + s.stimeTicks;
  }
  return ticks / clockTicksPerSecond();
}

/** Peak RSS of the tree: the sum of each live process's VmHWM (an upper bound when processes peaked apart). */
export function treePeakRssBytes(pid) {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += parseVmHwm(readFileSync(`/proc/${p}/status`, 'utf8'));
    } catch {
      /* exited meanwhile */
    }
  }
  return sum;
}
