/** The risk classes of routes (docs/risk-tiers.md): how a decision may be reused, asked remotely and fail. */
export const RISK_CLASSES = ['low', 'medium', 'high', 'critical'] as const;

export type RiskClass = (typeof RISK_CLASSES)[number];
