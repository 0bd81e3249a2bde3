// Secrets everybody knows. The samples in deploy/ ship placeholder files (PLACEHOLDER-admin-token-replace-me,
// ...) so that they render and validate; a process started with one of them would be guarded by a value
// published in this repository. Every secret authzd reads (control-plane tokens, the sidecar's bundle,
// revocation, remote and decision-shipping tokens, the audit salt, bundle signing keys) passes this one check
// at start-up, so the list of what counts as a placeholder lives here and nowhere else.

// Words a value uses to say it is not a secret, compared without case and without "-", "_", "." and spaces
// ("REPLACE_ME", "replace-me" and "Replace me" are one). Long enough not to occur in random tokens or keys
// by chance: hex tokens cannot hold them at all, and a base64 one of 44 characters holds a given 8-letter
// word with a probability of about 2^-35.
const MARKERS = [
  'placeholder',
  'replaceme',
  'changeme',
  'changeit',
  'notasecret',
  'notsecret',
  'yoursecret',
  'yourtoken',
  'secrethere',
  'tokenhere',
];

/**
 * The start-up problem for a secret whose value is a known placeholder, or undefined for a usable one. The
 * problem names the secret and where it came from (`source`: a flag and file, a configuration key, an
 * environment variable), never the value.
 */
export function placeholderSecretProblem(
  value: string,
  what: string,
  source: string,
  howToMake = 'e.g. `openssl rand -hex 32`',
): string | undefined {
  const folded = value.toLowerCase().replace(/[\s._-]+/g, '');
  const placeholder =
    MARKERS.some((marker) => folded.includes(marker)) || (folded.length > 0 && /^(.)\1*$/.test(folded));
  if (!placeholder) return undefined;
  return `${source}: ${what} is a known placeholder, not a secret: put one of your own there, ${howToMake} (docs/security.md, "Secrets")`;
}
