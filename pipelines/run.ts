import type { SegmentEvaluation } from '../audiences/evaluate.ts';
import { latestRealAsOf, type MembershipChange } from '../audiences/membership.ts';
import type { RetargetConfig } from '../config/config.ts';
import { enabledDestinations } from '../connectors/destinations/registry.ts';
import type {
  LoadSummary,
  PartialLoadError,
  SourceLoad,
  SourceLoadContext,
  SourceLoadResult,
} from '../connectors/sources/contract.ts';
import { enabledSources } from '../connectors/sources/registry.ts';
import type { LoadedSegment } from '../dsl/index.ts';
import type { Destination, DestinationReport } from '../plans/types.ts';
import { redact } from '../shared/redact.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import {
  type AlertDelivery,
  type AlertReason,
  alertReasons,
  buildPayload,
  deliverAlert,
} from './ops/alerts.ts';
import { dropForgottenCustomers, type PurgeResult } from './ops/forget.ts';
import { markAbandonedRuns } from './ops/runs.ts';
import { RunCancelled, safePoint, safePointSync } from './ops/safe-point.ts';
import { openWriter, permissionWarning } from './ops/writer.ts';
import { evaluateAndSync } from './run-evaluate.ts';
import {
  finishRun,
  newRunId,
  recordStep,
  StepError,
  type StepOutcome,
  type StepRecord,
  startRun,
} from './run-records.ts';

export interface RunRequest {
  config: RetargetConfig;
  /** Replaces the configured files source's directory. */
  sourceDir?: string;
  /** Replaces the configured database file. */
  db?: string;
  /** Evaluate as of this time (default: now). Data after it is ignored. */
  asOf?: Date;
  dryRun?: boolean;
  force?: boolean;
  fullRefresh?: boolean;
  trigger?: string;
  /** Destinations to sync; default: the configured ones. */
  destinations?: Destination[];
  /** Segments to evaluate; default: every module in the configured folder. */
  segments?: LoadedSegment[];
  reporter?: Reporter;
  /** Run id to use (default: a new one). */
  runId?: string;
  /** Names of the sources to load (e.g. ['files']); default: every configured one; [] loads nothing. */
  sources?: string[];
  /** false: load only (no segments, no destinations), for per-source schedules. Default true. */
  evaluate?: boolean;
  /** Aborting it stops the run at the next safe point (between steps), with status 'cancelled'. */
  signal?: AbortSignal;
  /** Send configured alerts (default true). */
  alerts?: boolean;
}

/** Where a run tells people what it is doing (the CLI prints it; tests ignore it). */
export interface Reporter {
  stepStarted(step: string): void;
  stepFinished(record: StepRecord): void;
  progress(step: string, done: number, total: number, label: string): void;
  info(message: string): void;
}

export const silentReporter: Reporter = { stepStarted() {}, stepFinished() {}, progress() {}, info() {} };

export interface RunSummary {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  asOf: string;
  dryRun: boolean;
  database: string;
  steps: StepRecord[];
  loads: LoadSummary[];
  segments: SegmentEvaluation[];
  audiences: MembershipChange[];
  destinations: DestinationReport[];
  /** The first failure, or every failure (each prefixed by its step) when there were several. */
  error?: { step: string; message: string };
  /** Things a person should look at even when the run succeeded (printed with the summary). */
  warnings: string[];
  /** Segments whose definition failed: their audiences kept their stored members and were not synced. */
  heldSegments: string[];
  /** Audiences that held members in the last real membership and hold none now. */
  emptied: Array<{ audience: string; previousMembers: number }>;
  /** Runs a killed process left 'running', marked 'abandoned' by this run. */
  abandoned?: string[];
  /** Rows of forgotten customers that this run's loads brought back, and dropped. */
  forgotten?: PurgeResult;
  alerts?: { reasons: AlertReason[]; deliveries: AlertDelivery[] };
}

/** The main job: load sources, evaluate every segment as of T, store membership, plan and sync destinations. */
export async function runPipeline(request: RunRequest): Promise<RunSummary> {
  const { config } = request;
  const reporter = request.reporter ?? silentReporter;
  const asOf = request.asOf ?? new Date();
  const database = request.db ?? config.database;
  const trigger = request.trigger ?? 'cli';
  // The single-writer lock: a second run fails here at once (DatabaseBusyError) naming the holder.
  const writer = await openWriter(
    { path: database, memoryLimit: config.memoryLimit },
    `retarget run (${trigger})`,
  );
  const wh = writer.wh;
  const refusal =
    request.dryRun || request.evaluate === false
      ? undefined
      : await backfillRefusal(wh, asOf).catch((err: Error) => err.message);
  if (refusal) {
    writer.close();
    throw new RunRefused(refusal);
  }
  const runId = request.runId ?? newRunId();
  const summary: RunSummary = {
    runId,
    status: 'succeeded',
    asOf: asOf.toISOString(),
    dryRun: request.dryRun ?? false,
    database: wh.path,
    steps: [],
    loads: [],
    segments: [],
    audiences: [],
    destinations: [],
    warnings: [],
    heldSegments: [],
    emptied: [],
  };
  const failures: Array<{ step: string; message: string }> = [];
  const step = async <T extends StepOutcome>(name: string, fn: () => Promise<T>): Promise<T> => {
    await safePoint(`step:${name}`, request.signal);
    reporter.stepStarted(name);
    const { result, record } = await recordStep(wh, runId, name, fn);
    summary.steps.push(record);
    reporter.stepFinished(record);
    return result;
  };

  const loadCtx: SourceLoadContext = {
    runId,
    asOf,
    sourceDir: request.sourceDir,
    log: (m) => reporter.info(m),
    checkpoint: (point) => safePoint(point), // test hooks: a kill at a table's load or commit
    checkpointSync: (point) => safePointSync(point),
  };
  // One recorded step per source load; its warnings are reported also when it failed part-way.
  const loadStep = (part: SourceLoad) =>
    step(`load:${part.step}`, async () => {
      const took = (r: SourceLoadResult) => {
        summary.loads.push(...r.loads);
        summary.warnings.push(...r.warnings);
      };
      const result = await part.load(wh, loadCtx).catch((err: PartialLoadError) => {
        if (err.partial) took(err.partial);
        throw err;
      });
      took(result);
      return { rowsIn: result.rowsIn, rowsOut: result.rowsOut, detail: result.detail };
    });
  try {
    const warning = permissionWarning(wh.path);
    if (warning) reporter.info(warning);
    // We hold the lock, so any other run still 'running' belongs to a dead process.
    summary.abandoned = await markAbandonedRuns(wh, runId);
    for (const id of summary.abandoned) reporter.info(`run ${id} was left unfinished: marked abandoned`);
    await startRun(wh, runId, asOf, trigger);
    for (const source of enabledSources(config.sources)) {
      if (request.sources !== undefined && !request.sources.includes(source.name)) continue;
      for (const part of source.loads) await loadStep(part);
    }

    // Keep after every source's load: rows of forgotten customers that a load brought back are dropped here.
    const purge = await dropForgottenCustomers(wh);
    if (purge.customers > 0 || Object.keys(purge.deleted).length > 0) {
      summary.forgotten = purge;
      reporter.info(`dropped reloaded rows of forgotten customers: ${JSON.stringify(purge.deleted)}`);
    }

    if (request.evaluate !== false) {
      const destinations = request.destinations ?? configuredDestinations(config);
      await evaluateAndSync({ wh, runId, asOf, request, reporter, destinations, summary, failures, step });
    }
    if (failures.length > 0) {
      summary.status = 'failed';
      const message =
        failures.length === 1
          ? failures[0]!.message
          : failures.map((f) => `${f.step}: ${f.message}`).join('; ');
      summary.error = { step: failures[0]!.step, message: redact(message) };
    }
    await finishRun(wh, runId, summary.status, summary.error?.message);
  } catch (err) {
    const step = err instanceof StepError ? err.step : err instanceof RunCancelled ? err.point : 'run';
    // Redacted here too: the summary is printed and returned (--json), not only stored.
    const message = redact((err as Error).message ?? String(err));
    summary.status = err instanceof RunCancelled ? 'cancelled' : 'failed';
    summary.error = { step, message };
    await finishRun(wh, runId, summary.status, `${step}: ${message}`).catch(() => {});
  }
  let reasons: AlertReason[] = [];
  try {
    // The HTML report (config report.afterRun, off by default); one that cannot be written is a warning only.
    if (config.report.afterRun && !summary.dryRun) {
      const report = await (await import('../report/build.ts')).reportAfterRun(wh, asOf, config.report.out);
      if (report.error) summary.warnings.push(`report not written to ${report.file}: ${report.error}`);
      else reporter.info(`report written to ${report.file}`);
    }
    if (request.alerts !== false) {
      reasons = await alertReasons(wh, summary, config.alerts).catch((err: Error) => {
        reporter.info(`alerts: cannot check this run: ${err.message}`);
        return [];
      });
    }
  } finally {
    writer.close();
  }
  if (reasons.length > 0) {
    // Sent after the database is closed and unlocked: a slow webhook never holds up the next run.
    const deliveries = await deliverAlert(buildPayload(summary, reasons, trigger), config.alerts);
    summary.alerts = { reasons, deliveries };
    for (const d of deliveries) {
      reporter.info(d.ok ? `alert sent (${d.channel})` : `alert NOT delivered (${d.channel}): ${d.error}`);
    }
  }
  return summary;
}

/** A run refused before it started (the CLI exits 2): nothing was loaded, stored or sent. */
export class RunRefused extends Error {
  override name = 'RunRefused';
}

/**
 * A real run as of a time before the latest stored real run would close history rows before they opened and
 * send a past audience to every destination: refused. A dry run may look at any time.
 */
async function backfillRefusal(wh: Warehouse, asOf: Date): Promise<string | undefined> {
  const latest = await latestRealAsOf(wh);
  if (!latest || asOf.getTime() >= latest.getTime()) return undefined;
  return (
    `as of ${asOf.toISOString()} is before the latest stored run (as of ${latest.toISOString()}): a real run ` +
    'would rewrite audience history and send a past audience to every destination. Add --dry-run to evaluate ' +
    'that time without storing history or syncing anything, or run as of a later time.'
  );
}

/** Destinations enabled by the configuration and environment, in registry order. */
export function configuredDestinations(config: RetargetConfig): Destination[] {
  return enabledDestinations(config.destinations);
}
