import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { evaluateSegments, type SegmentEvaluation } from '../audiences/evaluate.ts';
import { type MembershipChange, storeMembership } from '../audiences/membership.ts';
import type { RetargetConfig } from '../config/config.ts';
import { createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { metaDestinationFromConfig } from '../connectors/destinations/meta/index.ts';
import { loadFilesSource, type TableLoadSummary } from '../connectors/sources/files/load.ts';
import { ga4SourcesFromConfig, loadGa4Export, pullGa4DataApi } from '../connectors/sources/ga4/index.ts';
import { type LoadedSegment, loadSegments } from '../dsl/index.ts';
import type { Destination, DestinationReport } from '../plans/types.ts';
import {
  type AlertDelivery,
  type AlertReason,
  alertReasons,
  buildPayload,
  deliverAlert,
} from './ops/alerts.ts';
import { dropForgottenCustomers, markForgetRequestsSynced, type PurgeResult } from './ops/forget.ts';
import { markAbandonedRuns } from './ops/runs.ts';
import { RunCancelled, safePoint, safePointSync } from './ops/safe-point.ts';
import { openWriter, permissionWarning } from './ops/writer.ts';
import { finishRun, newRunId, recordStep, StepError, type StepRecord, startRun } from './run-records.ts';

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
  loads: TableLoadSummary[];
  segments: SegmentEvaluation[];
  audiences: MembershipChange[];
  destinations: DestinationReport[];
  error?: { step: string; message: string };
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
  };
  const step = async <T extends { rowsIn?: number; rowsOut?: number; detail?: unknown }>(
    name: string,
    fn: () => Promise<T>,
  ): Promise<T> => {
    await safePoint(`step:${name}`, request.signal);
    reporter.stepStarted(name);
    const { result, record } = await recordStep(wh, runId, name, fn);
    summary.steps.push(record);
    reporter.stepFinished(record);
    return result;
  };

  const wants = (source: string) => request.sources === undefined || request.sources.includes(source);
  try {
    const warning = permissionWarning(wh.path);
    if (warning) reporter.info(warning);
    // We hold the lock, so any other run still 'running' belongs to a dead process.
    summary.abandoned = await markAbandonedRuns(wh, runId);
    for (const id of summary.abandoned) reporter.info(`run ${id} was left unfinished: marked abandoned`);
    await startRun(wh, runId, asOf, trigger);
    const files = config.sources.files;
    if (files !== false && wants('files')) {
      const dir = resolve(request.sourceDir ?? files.dir);
      if (!existsSync(dir))
        throw new StepError(
          'load:files',
          `source directory not found: ${dir} (pass --source-dir, set sources.files.dir in retarget.config.ts, or run \`npm start\` for the demo store)`,
          0,
        );
      await step('load:files', async () => {
        summary.loads = await loadFilesSource(wh, {
          dir,
          runId,
          maxRejectShare: files.maxRejectShare,
          beforeCommit: (table) => safePoint(`commit:${table}`), // test hook: a kill here loses the whole table
          log: (m) => {
            const table = /^(\w+): reading/.exec(m)?.[1];
            if (table) safePointSync(`load:${table}`); // test hook only
            reporter.info(m);
          },
        });
        const rowsIn = summary.loads.reduce((n, t) => n + t.rowsRead, 0);
        const rowsOut = summary.loads.reduce((n, t) => n + t.rowsLoaded, 0);
        return { rowsIn, rowsOut, detail: summary.loads };
      });
    }

    const ga4 = ga4SourcesFromConfig(config.sources.ga4);
    const ga4Log = {
      info: (o: object, m?: string) => reporter.info(`${m ?? ''} ${JSON.stringify(o)}`.trim()),
      warn: (o: object, m?: string) => reporter.info(`warning: ${m ?? ''} ${JSON.stringify(o)}`.trim()),
    };
    if (ga4.dataApi && wants('ga4')) {
      const api = ga4.dataApi;
      await step('load:ga4', async () => {
        const r = await pullGa4DataApi(wh, api, { runId, asOf, log: ga4Log });
        summary.loads.push({
          table: 'events',
          files: 0,
          filesSkipped: 0,
          rowsRead: r.rowsRead,
          rowsLoaded: r.rowsLoaded,
          rowsRejected: r.rowsRejected,
        });
        if (r.stopped)
          reporter.info(`GA4 quota exhausted; the next run continues from here: ${r.stopped.message}`);
        return { rowsIn: r.rowsRead, rowsOut: r.rowsLoaded, detail: r };
      });
    }
    if (ga4.export && wants('ga4_export')) {
      const exp = ga4.export;
      await step('load:ga4_export', async () => {
        const r = await loadGa4Export(wh, exp, { runId, asOf, log: ga4Log });
        summary.loads.push({
          table: 'events',
          files: r.tables.reduce((n, t) => n + t.files.length, 0),
          filesSkipped: r.tablesSkipped,
          rowsRead: r.rowsRead,
          rowsLoaded: r.rowsLoaded,
          rowsRejected: r.rowsRejected,
        });
        return { rowsIn: r.rowsRead, rowsOut: r.rowsLoaded, detail: r };
      });
    }

    // Keep after every source's load: rows of forgotten customers that a load brought back are dropped here.
    const purge = await dropForgottenCustomers(wh);
    if (purge.customers > 0 || Object.keys(purge.deleted).length > 0) {
      summary.forgotten = purge;
      reporter.info(`dropped reloaded rows of forgotten customers: ${JSON.stringify(purge.deleted)}`);
    }

    if (request.evaluate !== false) {
      const segments =
        request.segments ??
        (
          await step('segments:load', async () => {
            const all = await loadSegments(resolve(config.segments.dir));
            const enabled = all.filter((s) => !config.segments.disabled.includes(s.definition.name));
            return { rowsOut: enabled.length, segments: enabled };
          })
        ).segments;

      await step('segments:evaluate', async () => {
        summary.segments = await evaluateSegments(wh, segments, asOf, (done, total, name) =>
          reporter.progress('segments:evaluate', done, total, name),
        );
        return { rowsOut: summary.segments.reduce((n, s) => n + s.members, 0), detail: summary.segments };
      });

      await step('audiences:store', async () => {
        summary.audiences = await storeMembership(wh, runId, asOf);
        return {
          rowsOut: summary.audiences.reduce((n, a) => n + a.members, 0),
          detail: summary.audiences.map(({ audience, members, entered, exited }) => ({
            audience,
            members,
            entered,
            exited,
          })),
        };
      });

      const destinations = request.destinations ?? configuredDestinations(config);
      for (const destination of destinations) {
        await step(`sync:${destination.name}`, async () => {
          const report = await destination.sync({
            wh,
            runId,
            asOf,
            dryRun: request.dryRun ?? false,
            force: request.force ?? false,
            fullRefresh: request.fullRefresh ?? false,
            log: (m) => reporter.info(m),
          });
          summary.destinations.push(report);
          const failed = report.audiences.filter((a) => a.status === 'failed');
          if (failed.length > 0) {
            summary.status = 'failed';
            summary.error ??= {
              step: `sync:${destination.name}`,
              message: failed.map((a) => `${a.audience}: ${a.message ?? 'failed'}`).join('; '),
            };
          }
          return {
            rowsOut: report.audiences.reduce((n, a) => n + a.adds + a.removes, 0),
            detail: report.audiences.map(({ samples: _samples, ...rest }) => rest),
          };
        });
      }
      // Forget requests reached every configured destination once a real sync of all of them succeeded.
      const all = configuredDestinations(config).map((d) => d.name);
      if (
        !summary.dryRun &&
        summary.status === 'succeeded' &&
        all.every((name) => destinations.some((d) => d.name === name))
      ) {
        await markForgetRequestsSynced(wh);
      }
    }
    await finishRun(wh, runId, summary.status, summary.error?.message);
  } catch (err) {
    const step = err instanceof StepError ? err.step : err instanceof RunCancelled ? err.point : 'run';
    const message = (err as Error).message ?? String(err);
    summary.status = err instanceof RunCancelled ? 'cancelled' : 'failed';
    summary.error = { step, message };
    await finishRun(wh, runId, summary.status, `${step}: ${message}`).catch(() => {});
  }
  let reasons: AlertReason[] = [];
  try {
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

/** Destinations enabled by the configuration and environment. */
export function configuredDestinations(config: RetargetConfig): Destination[] {
  const destinations: Destination[] = [];
  if (config.destinations.csv !== false) destinations.push(createCsvDestination(config.destinations.csv));
  // Meta is enabled by META_ACCESS_TOKEN + META_AD_ACCOUNT_ID (settings may also come from the config file).
  const meta = metaDestinationFromConfig(config.destinations.meta);
  if (meta) destinations.push(meta);
  return destinations;
}
