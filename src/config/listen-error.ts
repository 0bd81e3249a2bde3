import { ConfigError } from './config-error.js';

/**
 * A listener that could not be bound, as the start-up error an operator acts on: which setting, which
 * address, and why in words. Both Node's `listen` errors (a `code`) and grpc-js's bind errors (the code only
 * inside the message: "No address added ... [listen EADDRINUSE: ...]") are translated here, and nowhere else.
 */
export function listenError(setting: string, address: string, err: unknown): ConfigError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException).code ?? /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|ENOENT)\b/.exec(message)?.[1];
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use (another process listens there)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges; a socket needs a writable directory)'
        : code === 'EADDRNOTAVAIL'
          ? 'no network interface has that address'
          : code === 'ENOENT'
            ? "the socket's directory does not exist"
            : message;
  return new ConfigError([`${setting} ${address}: cannot listen: ${why}`]);
}
