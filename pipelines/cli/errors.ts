/**
 * Exit codes: 0 ok, 1 the job failed, 2 bad usage or configuration, 75 the database is busy (another run holds
 * it: try again later; the same value as EXIT_BUSY in ops/writer.ts, kept here so `--help` loads no DuckDB),
 * 130 the run was stopped by SIGINT/SIGTERM at a safe point.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 75, interrupted: 130 } as const;

/** A failure to report as one clear line, without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors whose message is the whole story (no stack trace), by class name so none of their modules loads early. */
const KNOWN =
  /^(UserError|ConfigError|ScheduleError|DatabaseBusyError|Ga4ConfigError|\w*DefinitionError|SourceError|IngestError)$/;
/** Configuration mistakes: exit 2 like bad flags. */
const USAGE = /^(ConfigError|ScheduleError|Ga4ConfigError)$/;

/** The exit code and whether to offer the stack trace, for an error that ended a command. */
export function classify(err: unknown): { exitCode: number; known: boolean } {
  const e = err as { name?: string; exitCode?: unknown };
  const name = e?.name ?? '';
  if (typeof e?.exitCode === 'number' && (err instanceof UserError || name === 'DatabaseBusyError'))
    return { exitCode: e.exitCode, known: true };
  return { exitCode: USAGE.test(name) ? EXIT.usage : EXIT.failed, known: KNOWN.test(name) };
}
