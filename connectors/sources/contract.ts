/*
 * The source contract: a source is one folder exporting a `SourceDefinition` plus one line in ./registry.ts.
 * The run calls each enabled source's loads in order, each recorded as its own step (`load:<step>`), and never
 * names a source.
 */
import type { z } from 'zod';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** What one load did to one table: the shared summary every source reports (shown by `retarget run`). */
export interface LoadSummary {
  table: string;
  files: number;
  filesSkipped: number;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
}

export interface SourceLoadContext {
  runId: string;
  asOf: Date;
  /** Replaces the configured folder of a folder-reading source (`run --source-dir`). */
  sourceDir?: string;
  log(message: string): void;
  /** Cancellation (and test) point between the units of a load, e.g. before committing a table. */
  checkpoint(point: string): Promise<void>;
  checkpointSync(point: string): void;
}

export interface SourceLoadResult {
  loads: LoadSummary[];
  /** Things a person should look at even when the load succeeded (ignored files, unknown columns, ...). */
  warnings: string[];
  rowsIn: number;
  rowsOut: number;
  /** Stored with the run's step record. */
  detail: unknown;
}

/** A load that fails after loading part of its tables attaches what it did as `partial` to its error. */
export interface PartialLoadError extends Error {
  partial?: SourceLoadResult;
}

/** One recorded step of a source (GA4 has two: its Data API and its export files). */
export interface SourceLoad {
  /** Step name after `load:`. */
  step: string;
  load(wh: Warehouse, ctx: SourceLoadContext): Promise<SourceLoadResult>;
}

/** What one folder under connectors/sources/ exports, listed once in ./registry.ts. */
export interface SourceDefinition<S = unknown> {
  /** The key under `sources.` in retarget.config.ts, and the name in `schedule.sources` and `run --sources`. */
  readonly name: string;
  /** Strict schema of `sources.<name>`; `sources.<name>: false` turns an enabled-by-default source off. */
  readonly settings: z.ZodType<S>;
  readonly env: readonly string[];
  /** Enabled with its schema's defaults when the file says nothing (files). */
  readonly enabledByDefault?: boolean;
  /** The source's loads, or [] when it is not enabled; half a configuration throws, naming what is missing. */
  fromConfig(settings: S | undefined, env: NodeJS.ProcessEnv): SourceLoad[];
}
