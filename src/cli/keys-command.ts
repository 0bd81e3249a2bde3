import type { BundleAlgorithm } from '../bundle/bundle-format.js';
import { generateSigningKeys } from '../bundle/bundle-keys.js';
import { ConfigError } from '../config/config-error.js';
import { EXIT } from './exit-codes.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd keys generate --out DIR [--alg ES256|EdDSA] [--kid ID]

Creates a bundle signing key pair (docs/bundles.md, "Keys and rotation"):
  DIR/signing-key.pem   PKCS#8 private key, mode 0600: for \`authzd bundle build --signing-key\` only
  DIR/public-key.pem    SPKI public key: give it to every verifier (\`authzd bundle verify --public-key\`)
Existing files are never overwritten.

  --out DIR       directory to write the two files to (created if missing)
  --alg ALG       ES256 (P-256, default) or EdDSA (Ed25519)
  --kid ID        key id to sign with (default: the RFC 7638 thumbprint of the public key)

Prints the kid on standard output: pass it to \`authzd bundle build --kid\`.`;

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    process.stderr.write(`${HELP}\n`);
    return EXIT.usage;
  }
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (sub !== 'generate') throw new UsageError(`unknown keys subcommand "${sub}"; expected "generate"`);
  const { values } = parseFlags(rest, {
    out: { type: 'string' },
    alg: { type: 'string', default: 'ES256' },
    kid: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.out === undefined) throw new UsageError('--out DIR is required');
  if (values.alg !== 'ES256' && values.alg !== 'EdDSA')
    throw new UsageError(`--alg ${values.alg}: expected ES256 or EdDSA`);
  const alg: BundleAlgorithm = values.alg;

  try {
    const keys = await generateSigningKeys(values.out, {
      alg,
      ...(values.kid !== undefined ? { kid: values.kid } : {}),
    });
    process.stderr.write(
      `wrote ${keys.privateKeyFile} (${alg} private key, mode 0600: keep it secret)\n` +
        `wrote ${keys.publicKeyFile} (public key: give it to verifiers)\n` +
        `kid (for \`authzd bundle build --kid\`):\n`,
    );
    process.stdout.write(`${keys.kid}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authzd keys generate: ${err.problems.join('; ')}\n`);
      return 1;
    }
    throw err;
  }
}
