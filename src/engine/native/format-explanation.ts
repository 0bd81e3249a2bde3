import type { Explanation, PolicyExplanation } from './explain.js';

const MARK: Record<PolicyExplanation['outcome'], string> = { satisfied: '✓', 'not-satisfied': '✗', error: '!' };

/**
 * An explanation for people, one policy per block: the policies whose scope matched with each condition's
 * value (or the error and the sub-expression that raised it), then, on one line, those whose scope did not.
 * `where` names a policy's file, when known.
 */
export function formatExplanation(
  explanation: Explanation | { readonly type: 'invalid'; readonly errors: readonly string[] },
  where: (policyId: string) => string | undefined = () => undefined,
): string[] {
  if (explanation.type === 'invalid')
    return [`the request does not conform to the schema: ${explanation.errors.join('; ')}`];
  const { answer } = explanation;
  const lines: string[] = [];
  if (answer.type === 'decision')
    lines.push(
      `${answer.decision.toUpperCase()}  determining: ${answer.reason.join(', ') || 'none'}; errors: ${answer.errors.map((e) => e.policyId).join(', ') || 'none'}`,
    );
  const unmatched: string[] = [];
  for (const p of explanation.policies) {
    const { principal, action, resource } = p.scope;
    if (!(principal && action && resource)) {
      const missed = [!principal && 'principal', !action && 'action', !resource && 'resource'].filter(Boolean);
      unmatched.push(`${p.id} (${missed.join(', ')})`);
      continue;
    }
    const file = where(p.id);
    lines.push(`${MARK[p.outcome]} ${p.effect} ${p.id}${file !== undefined ? `  ${file}` : ''}: scope matches`);
    for (const c of p.conditions) {
      const text = c.text.replace(/\s+/g, ' ');
      if (c.skipped === true) lines.push(`    ${text}  (not evaluated)`);
      else if (c.error !== undefined)
        lines.push(
          `    ${text}  -> error: ${c.error.message}${c.error.at !== text ? `, at \`${c.error.at.replace(/\s+/g, ' ')}\`` : ''}`,
        );
      else lines.push(`    ${text}  -> ${c.value}`);
    }
  }
  if (unmatched.length > 0) lines.push(`scope did not match (the part that missed): ${unmatched.join(', ')}`);
  return lines;
}
