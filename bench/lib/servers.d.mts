import type { BenchIssuer } from './datasets.mjs';
import type { Sample } from './prometheus-text.mjs';
export const NULL_SERVER: string;
export function killAllServers(): void;
export function snapshotBuild(dir: string): { app: string; fingerprint: string };
export function freePort(): Promise<number>;
export function helpListsFlag(help: string, flag: string): boolean;
export function authzdSupportsWorkers(): boolean;
export function pinned(cpus: string, argv: readonly string[]): string[];
export interface RunningServer {
  readonly pid: number;
  readonly grpcAddr: string;
  readonly adminUrl: string;
  readonly command: readonly string[];
  readonly logFile: string;
  readonly lines: readonly Record<string, any>[];
  readonly startupMs: number;
  onLine(listener: (line: Record<string, any>) => void): () => void;
  scrape(): Promise<Sample[]>;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}
export function startServer(opts: {
  kind: 'authzd' | 'null';
  cpus: string;
  policyDir?: string;
  issuer?: BenchIssuer;
  workers?: number;
  workDir: string;
  name: string;
  /** More `authzd serve` flags (a bundle source instead of policyDir, for example). */
  extraArgs?: readonly string[];
  /** Flags for node itself, before authzd's arguments (--max-old-space-size=256, for example). */
  nodeArgs?: readonly string[];
  readyTimeoutMs?: number;
  /** authzd's dist/cli/main.js of another build (an A/B of two builds); default: this checkout's snapshot. */
  main?: string;
}): Promise<RunningServer>;
export function sleep(ms: number): Promise<void>;
