export function parseProcStat(text: string): {
  pid: number;
  comm: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
};
export function parseVmHwm(statusText: string): number;
export function clockTicksPerSecond(): number;
export function processTree(pid: number): number[];
export function treeCpuSeconds(pid: number): number | undefined;
export function treePeakRssBytes(pid: number): number;
