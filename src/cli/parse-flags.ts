import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict unknown-flag errors phrased for humans. */
export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: attachDashValues(args, options), options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

// Values can legitimately begin with '-': a key id is a base64url thumbprint, and 1 in 64 of them starts with
// '-' ("-Fq3…"). Strict parseArgs refuses `--kid -Fq3…` as ambiguous, so `authzd bundle build --kid "$(cat kid)"`
// would fail at random. A string option's next argument is therefore taken as its value unless it is itself one
// of the command's flags, which keeps the helpful error for `--out --kid x` (a forgotten value).
function attachDashValues(args: string[], options: Options): string[] {
  const takesValue = new Set<string>();
  const flags = new Set<string>(['--']);
  for (const [name, option] of Object.entries(options)) {
    flags.add(`--${name}`);
    if (option.short !== undefined) flags.add(`-${option.short}`);
    if (option.type === 'string') {
      takesValue.add(`--${name}`);
      if (option.short !== undefined) takesValue.add(`-${option.short}`);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (takesValue.has(arg) && next !== undefined && next.startsWith('-') && !isFlag(next, flags)) {
      out.push(`${arg.startsWith('--') ? arg : `--${longName(arg, options)}`}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function isFlag(arg: string, flags: Set<string>): boolean {
  const eq = arg.indexOf('=');
  return flags.has(eq > 0 ? arg.slice(0, eq) : arg);
}

function longName(short: string, options: Options): string {
  const entry = Object.entries(options).find(([, option]) => option.short === short.slice(1));
  return entry![0];
}
