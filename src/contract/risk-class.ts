/** The risk classes of routes (docs/risk-tiers.md): how a decision may be reused, asked remotely and fail. */
/** What a device-trust signal may be (one word); anything else is left out of context.risk, never guessed. */
export const DEVICE_TRUST = /^[A-Za-z0-9._-]{1,64}$/;

export const RISK_CLASSES = ['low', 'medium', 'high', 'critical'] as const;

export type RiskClass = (typeof RISK_CLASSES)[number];
