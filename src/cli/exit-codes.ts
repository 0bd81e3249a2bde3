// The exit status of every authzd command (README, "Exit codes"): one meaning per number, across commands.
export const EXIT = {
  /** Done: the command did what was asked (a check answered, a bundle verified, every test passed). */
  ok: 0,
  /** A failure: bad configuration or input files, a refused bundle or publication, a failing test, a listener that could not be bound. */
  failure: 1,
  /** A usage error: an unknown command, subcommand or flag, a missing or malformed argument. Nothing was done. */
  usage: 2,
} as const;
