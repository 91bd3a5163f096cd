import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { evaluateSegments, type SegmentEvaluation } from '../audiences/evaluate.ts';
import { type MembershipChange, storeMembership } from '../audiences/membership.ts';
import type { RetargetConfig } from '../config/config.ts';
import { createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { loadFilesSource, type TableLoadSummary } from '../connectors/sources/files/load.ts';
import { type LoadedSegment, loadSegments } from '../dsl/index.ts';
import type { Destination, DestinationReport } from '../plans/types.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
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
  status: 'succeeded' | 'failed';
  asOf: string;
  dryRun: boolean;
  database: string;
  steps: StepRecord[];
  loads: TableLoadSummary[];
  segments: SegmentEvaluation[];
  audiences: MembershipChange[];
  destinations: DestinationReport[];
  error?: { step: string; message: string };
}

/** The main job: load sources, evaluate every segment as of T, store membership, plan and sync destinations. */
export async function runPipeline(request: RunRequest): Promise<RunSummary> {
  const { config } = request;
  const reporter = request.reporter ?? silentReporter;
  const asOf = request.asOf ?? new Date();
  const database = request.db ?? config.database;
  const wh = await Warehouse.open({ path: database, memoryLimit: config.memoryLimit });
  const runId = newRunId();
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
    reporter.stepStarted(name);
    const { result, record } = await recordStep(wh, runId, name, fn);
    summary.steps.push(record);
    reporter.stepFinished(record);
    return result;
  };

  try {
    await startRun(wh, runId, asOf, request.trigger ?? 'cli');
    const files = config.sources.files;
    if (files !== false) {
      const dir = resolve(request.sourceDir ?? files.dir);
      if (!existsSync(dir)) throw new StepError('load:files', `source directory not found: ${dir}`, 0);
      await step('load:files', async () => {
        summary.loads = await loadFilesSource(wh, {
          dir,
          runId,
          maxRejectShare: files.maxRejectShare,
          log: (m) => reporter.info(m),
        });
        const rowsIn = summary.loads.reduce((n, t) => n + t.rowsRead, 0);
        const rowsOut = summary.loads.reduce((n, t) => n + t.rowsLoaded, 0);
        return { rowsIn, rowsOut, detail: summary.loads };
      });
    }

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

    for (const destination of request.destinations ?? configuredDestinations(config)) {
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
    await finishRun(wh, runId, summary.status, summary.error?.message);
  } catch (err) {
    const step = err instanceof StepError ? err.step : 'run';
    const message = (err as Error).message ?? String(err);
    summary.status = 'failed';
    summary.error = { step, message };
    await finishRun(wh, runId, 'failed', `${step}: ${message}`).catch(() => {});
  } finally {
    wh.close();
  }
  return summary;
}

/** Destinations enabled by the configuration and environment. */
export function configuredDestinations(config: RetargetConfig): Destination[] {
  const destinations: Destination[] = [];
  if (config.destinations.csv !== false) destinations.push(createCsvDestination(config.destinations.csv));
  return destinations;
}
