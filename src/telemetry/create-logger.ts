import pino, { type Logger } from 'pino';

/**
 * The diagnostic log (JSON lines on stderr): start-up, activations, failures. Decisions go to the audit
 * log instead. Redaction is a second line of defence: no code path logs headers or tokens.
 */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination({ dest: 2, sync: false }),
): Logger {
  return pino(
    {
      level,
      base: { service: 'authzd' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', '*.authorization', 'token', '*.token', 'headers', '*.headers'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
