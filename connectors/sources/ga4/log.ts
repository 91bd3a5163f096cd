/** The logging a GA4 source needs; a pino logger fits. Never given secrets. */
export interface Ga4Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: Ga4Logger = { info: () => {}, warn: () => {} };

/** What every GA4 entry point receives from the run orchestrator. */
export interface Ga4RunContext {
  runId: string;
  /** The run's as-of time: the Data API pulls through this day (UTC). */
  asOf: Date;
  log?: Ga4Logger;
}
