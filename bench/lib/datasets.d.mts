import type { PolicySetLayout } from '../generate-policy-set.mjs';
export interface BenchMessage {
  readonly bytes: Buffer;
  /** "decision|reason" the design calls for; undefined when only the server's answer in isolation defines it. */
  readonly expect: string | undefined;
}
export interface BenchIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksFile: string;
  sign(claims: Record<string, unknown> & { sub: string; expSeconds?: number }): Promise<string>;
  signMany(
    claims: readonly (Record<string, unknown> & { sub: string; expSeconds?: number })[],
    batch?: number,
  ): Promise<string[]>;
}
export const EXAMPLE_POLICIES: string;
export const COLD_ACCOUNT_CAP: number;
export function examplePolicyFiles(opts: { accounts: number; owner: (n: number) => string }): Map<string, string>;
export function warmPolicyFiles(): Map<string, string>;
export function warmMessages(issuer: BenchIssuer, seed?: number): Promise<BenchMessage[]>;
export function denyHeavyMessages(issuer: BenchIssuer, seed?: number): Promise<BenchMessage[]>;
export function coldPolicyFiles(accounts: number): Map<string, string>;
export function coldMessages(
  issuer: BenchIssuer,
  first: number,
  count: number,
  accounts: number,
): Promise<BenchMessage[]>;
export function generatedSetMessages(
  issuer: BenchIssuer,
  layout: PolicySetLayout,
  opts?: { count?: number; seed?: number },
): Promise<BenchMessage[]>;
