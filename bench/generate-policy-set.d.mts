export const NAMESPACE: string;
export const TENANTS: number;
export const BASE_ROLES: number;
export const USERS: number;
export interface GeneratedAction {
  readonly name: string;
  readonly type: string;
  readonly method: 'GET' | 'POST';
  readonly route: string;
  pathFor(id: string): string;
}
export interface PolicySetLayout {
  readonly namespace: string;
  readonly policies: number;
  readonly entities: number;
  readonly actions: readonly GeneratedAction[];
  readonly typeCount: number;
  readonly resourceCount: number;
}
export function policySetLayout(policies: number, entities: number): PolicySetLayout;
export function resourceAt(
  layout: PolicySetLayout,
  n: number,
): { type: string; id: string; tenant: string; owner: string; level: number };
export function generatePolicySet(opts: { policies: number; entities: number }): {
  files: Map<string, string>;
  layout: PolicySetLayout;
};
export function writePolicySet(dir: string, files: ReadonlyMap<string, string>): void;
