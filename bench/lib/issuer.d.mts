import type { BenchIssuer } from './datasets.mjs';
export const ISSUER: string;
export const AUDIENCE: string;
export function createIssuer(dir: string): Promise<BenchIssuer>;
