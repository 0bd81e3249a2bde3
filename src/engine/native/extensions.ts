import { DateTime, Duration, durationSince, offset, parseDatetime, parseDuration, toDate, toTime } from './datetime.js';
import { Decimal, parseDecimal } from './decimal.js';
import { evalError } from './eval-error.js';
import { divTrunc } from './i64.js';
import { IpAddr, parseIp } from './ipaddr.js';
import type { ExtensionTypeName, SchemaType } from './schema.js';
import { typeName, type Value } from './values.js';

export interface ExtensionFunction {
  readonly name: string;
  /** Argument types, for schema-directed JSON parsing of `__extn` calls. */
  readonly argTypes: readonly SchemaType[];
  readonly returns: SchemaType;
  /** Applies the function to evaluated arguments (their number already checked); throws EvalError. */
  readonly apply: (args: readonly Value[]) => Value;
}

const STRING: SchemaType = { t: 'string' };
const BOOL: SchemaType = { t: 'bool' };
const LONG: SchemaType = { t: 'long' };
const ext = (name: ExtensionTypeName): SchemaType => ({ t: 'ext', name });

const typeError = (expected: string, v: Value): never =>
  evalError(`type error: expected ${expected}, got ${typeName(v)}`);
const str = (v: Value): string => (typeof v === 'string' ? v : typeError('string', v));
const ip = (v: Value): IpAddr => (v instanceof IpAddr ? v : typeError('ipaddr', v));
const dec = (v: Value): Decimal => (v instanceof Decimal ? v : typeError('decimal', v));
const dt = (v: Value): DateTime => (v instanceof DateTime ? v : typeError('datetime', v));
const dur = (v: Value): Duration => (v instanceof Duration ? v : typeError('duration', v));
const orFail = <T>(r: T | string, fn: string): T =>
  typeof r === 'string' ? evalError(`error while evaluating \`${fn}\`: ${r}`) : r;
const orOverflow = <T>(r: T | undefined, fn: string): T => (r === undefined ? evalError(`overflow in \`${fn}\``) : r);

const fns: ExtensionFunction[] = [
  { name: 'ip', argTypes: [STRING], returns: ext('ipaddr'), apply: ([a]) => orFail(parseIp(str(a!)), 'ip') },
  {
    name: 'decimal',
    argTypes: [STRING],
    returns: ext('decimal'),
    apply: ([a]) => orFail(parseDecimal(str(a!)), 'decimal'),
  },
  {
    name: 'datetime',
    argTypes: [STRING],
    returns: ext('datetime'),
    apply: ([a]) => orFail(parseDatetime(str(a!)), 'datetime'),
  },
  {
    name: 'duration',
    argTypes: [STRING],
    returns: ext('duration'),
    apply: ([a]) => orFail(parseDuration(str(a!)), 'duration'),
  },
  { name: 'isIpv4', argTypes: [ext('ipaddr')], returns: BOOL, apply: ([a]) => !ip(a!).v6 },
  { name: 'isIpv6', argTypes: [ext('ipaddr')], returns: BOOL, apply: ([a]) => ip(a!).v6 },
  { name: 'isLoopback', argTypes: [ext('ipaddr')], returns: BOOL, apply: ([a]) => ip(a!).isLoopback() },
  { name: 'isMulticast', argTypes: [ext('ipaddr')], returns: BOOL, apply: ([a]) => ip(a!).isMulticast() },
  {
    name: 'isInRange',
    argTypes: [ext('ipaddr'), ext('ipaddr')],
    returns: BOOL,
    apply: ([a, b]) => {
      const x = ip(a!);
      return x.isInRange(ip(b!));
    },
  },
  ...(
    [
      ['lessThan', (x: bigint, y: bigint) => x < y],
      ['lessThanOrEqual', (x: bigint, y: bigint) => x <= y],
      ['greaterThan', (x: bigint, y: bigint) => x > y],
      ['greaterThanOrEqual', (x: bigint, y: bigint) => x >= y],
    ] as const
  ).map(([name, op]): ExtensionFunction => ({
    name,
    argTypes: [ext('decimal'), ext('decimal')],
    returns: BOOL,
    apply: ([a, b]) => {
      const x = dec(a!);
      return op(x.value, dec(b!).value);
    },
  })),
  {
    name: 'offset',
    argTypes: [ext('datetime'), ext('duration')],
    returns: ext('datetime'),
    apply: ([a, b]) => {
      const x = dt(a!);
      return orOverflow(offset(x, dur(b!)), 'offset');
    },
  },
  {
    name: 'durationSince',
    argTypes: [ext('datetime'), ext('datetime')],
    returns: ext('duration'),
    apply: ([a, b]) => {
      const x = dt(a!);
      return orOverflow(durationSince(x, dt(b!)), 'durationSince');
    },
  },
  {
    name: 'toDate',
    argTypes: [ext('datetime')],
    returns: ext('datetime'),
    apply: ([a]) => orOverflow(toDate(dt(a!)), 'toDate'),
  },
  { name: 'toTime', argTypes: [ext('datetime')], returns: ext('duration'), apply: ([a]) => toTime(dt(a!)) },
  { name: 'toMilliseconds', argTypes: [ext('duration')], returns: LONG, apply: ([a]) => dur(a!).ms },
  { name: 'toSeconds', argTypes: [ext('duration')], returns: LONG, apply: ([a]) => divTrunc(dur(a!).ms, 1000) },
  { name: 'toMinutes', argTypes: [ext('duration')], returns: LONG, apply: ([a]) => divTrunc(dur(a!).ms, 60_000) },
  { name: 'toHours', argTypes: [ext('duration')], returns: LONG, apply: ([a]) => divTrunc(dur(a!).ms, 3_600_000) },
  { name: 'toDays', argTypes: [ext('duration')], returns: LONG, apply: ([a]) => divTrunc(dur(a!).ms, 86_400_000) },
];

/** Cedar's extension functions (ipaddr, decimal, datetime) by name. */
export const EXTENSION_FUNCTIONS: ReadonlyMap<string, ExtensionFunction> = new Map(fns.map((f) => [f.name, f]));

/** The one-argument constructor of each extension type, used when a schema says a string is an extension value. */
export const CONSTRUCTORS: Readonly<Record<ExtensionTypeName, string>> = {
  ipaddr: 'ip',
  decimal: 'decimal',
  datetime: 'datetime',
  duration: 'duration',
};

/** Calls an extension function on evaluated arguments, checking their number as Cedar does at evaluation. */
export function callExtension(f: ExtensionFunction, args: readonly Value[]): Value {
  if (args.length !== f.argTypes.length)
    evalError(
      `wrong number of arguments provided to extension function \`${f.name}\`: expected ${f.argTypes.length}, got ${args.length}`,
    );
  return f.apply(args);
}
