import cron, { type ScheduledTask } from 'node-cron';
import type { RetargetConfig } from '../../config/config.ts';
import { enabledSources } from '../../connectors/sources/registry.ts';
import { redact } from '../../shared/redact.ts';
import { configuredDestinations, type Reporter, type RunSummary, runPipeline } from '../run.ts';
import { newRunId } from '../run-records.ts';

/**
 * `retarget schedule`: runs jobs in the foreground on their cron expressions (node-cron, in the configured time
 * zone). Jobs never overlap, within this process (a tick while a run is active is skipped and logged) or across
 * processes (the database lock). One line per run start and end. Stopping (the signal) waits for the current
 * run to reach a safe point.
 */

export interface ScheduledJob {
  /** 'main', 'source:<name>' or 'destination:<name>'. */
  name: string;
  cron: string;
  /** Sources to load (undefined: all). */
  sources?: string[];
  /** Destinations to sync (undefined: all). */
  destinations?: string[];
  /** false: load only. */
  evaluate: boolean;
}

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/**
 * Names of the sources the configuration and environment enable: the keys of `sources` in retarget.config.ts,
 * the names `schedule.sources` and `run --sources` take. `ga4` is GA4 as a whole: the Data API and the BigQuery
 * export files, from the config file or the environment (GA4_PROPERTY_ID, GA4_EXPORT_PATHS).
 */
export function configuredSourceNames(config: RetargetConfig): string[] {
  return enabledSources(config.sources).map((s) => s.name);
}

/**
 * The jobs of a configuration: the main (full) run for every source and destination without a schedule of its
 * own, a load-only job per scheduled source, and an evaluate-and-sync job per scheduled destination.
 */
export function scheduledJobs(config: RetargetConfig): ScheduledJob[] {
  const s = config.schedule;
  let sources: string[];
  let destinations: string[];
  try {
    sources = configuredSourceNames(config);
    destinations = configuredDestinations(config).map((d) => d.name);
  } catch (err) {
    // Half a destination or source setting in the environment: refuse to start, before any job loads anything.
    throw new ScheduleError(`configuration: ${(err as Error).message}`);
  }
  for (const name of Object.keys(s.sources)) {
    if (!sources.includes(name))
      throw new ScheduleError(
        `schedule.sources.${name}: no such source is configured (configured: ${sources.join(', ') || 'none'})`,
      );
  }
  for (const name of Object.keys(s.destinations)) {
    if (!destinations.includes(name))
      throw new ScheduleError(
        `schedule.destinations.${name}: no such destination is configured (configured: ${destinations.join(', ') || 'none'})`,
      );
  }
  const ownSources = Object.keys(s.sources);
  const ownDestinations = Object.keys(s.destinations);
  const jobs: ScheduledJob[] = [
    {
      name: 'main',
      cron: s.cron,
      sources: ownSources.length ? sources.filter((n) => !ownSources.includes(n)) : undefined,
      destinations: ownDestinations.length
        ? destinations.filter((n) => !ownDestinations.includes(n))
        : undefined,
      evaluate: true,
    },
    ...Object.entries(s.sources).map(([name, expr]) => ({
      name: `source:${name}`,
      cron: expr,
      sources: [name],
      evaluate: false,
    })),
    ...Object.entries(s.destinations).map(([name, expr]) => ({
      name: `destination:${name}`,
      cron: expr,
      sources: [],
      destinations: [name],
      evaluate: true,
    })),
  ];
  for (const job of jobs) {
    if (!cron.validate(job.cron)) {
      const detail = cron
        .validateDetailed(job.cron)
        .errors.map((e) => `${e.field}: ${e.message}`)
        .join('; ');
      throw new ScheduleError(`schedule for ${job.name}: invalid cron expression '${job.cron}' (${detail})`);
    }
  }
  return jobs;
}

export interface SchedulerOptions {
  config: RetargetConfig;
  db?: string;
  sourceDir?: string;
  /** Aborting it stops the scheduler: no new runs; the current one stops at its next safe point. */
  signal: AbortSignal;
  /** Receives one line per event (no trailing newline). */
  out: (line: string) => void;
}

/** Runs until the signal aborts; resolves once the current run (if any) has stopped. */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  const { config, out, signal } = options;
  const jobs = scheduledJobs(config);
  const timezone = config.schedule.timezone;
  const stopRuns = new AbortController();
  let current: { job: ScheduledJob; runId: string; done: Promise<void> } | undefined;
  const ts = () => new Date().toISOString();

  const tick = (job: ScheduledJob): void => {
    if (signal.aborted) return;
    if (current) {
      out(`${ts()} skip  ${job.name}: run ${current.runId} (${current.job.name}) is still running`);
      return;
    }
    const runId = newRunId();
    out(`${ts()} start ${job.name} run=${runId}`);
    const started = performance.now();
    const done = (async () => {
      try {
        const summary = await runPipeline({
          config,
          db: options.db,
          sourceDir: options.sourceDir,
          runId,
          trigger: `schedule:${job.name}`,
          sources: job.sources,
          evaluate: job.evaluate,
          destinations: job.destinations
            ? configuredDestinations(config).filter((d) => job.destinations?.includes(d.name))
            : undefined,
          signal: stopRuns.signal,
          // Warnings and notices only: the loaders' per-table progress would drown the one-line-per-run log.
          reporter: infoReporter((m) => {
            if (!/: reading \d+ file/.test(m)) out(`${ts()} info  ${job.name} run=${runId}: ${redact(m)}`);
          }),
        });
        out(`${ts()} end   ${job.name} run=${runId} ${outcome(summary, performance.now() - started)}`);
      } catch (err) {
        // Typically DatabaseBusyError: another process (a manual `retarget run`) holds the database.
        const busy = (err as Error).name === 'DatabaseBusyError';
        out(
          `${ts()} end   ${job.name} run=${runId} status=${busy ? 'skipped' : 'failed'} ` +
            `took=${seconds(performance.now() - started)} error="${redact((err as Error).message)}"`,
        );
      } finally {
        current = undefined;
      }
    })();
    current = { job, runId, done };
  };

  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(job.cron, () => tick(job), {
      timezone,
      name: `retarget:${job.name}`,
      logger: {
        info() {},
        debug() {},
        warn: (m) => out(`${ts()} warn  ${job.name}: ${m}`),
        error: (m) => out(`${ts()} error ${job.name}: ${m instanceof Error ? m.message : m}`),
      },
    }),
  );
  for (const [i, job] of jobs.entries()) {
    const next = tasks[i]!.getNextRun();
    out(
      `${ts()} ready ${job.name} cron="${job.cron}" timezone=${timezone}` +
        `${next ? ` next=${next.toISOString()}` : ''} (${describeJob(job)})`,
    );
  }

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  for (const task of tasks) await task.destroy();
  if (current) {
    out(`${ts()} stopping: waiting for run ${current.runId} to reach a safe point`);
    stopRuns.abort();
    await current.done;
  }
  out(`${ts()} stopped`);
}

function describeJob(job: ScheduledJob): string {
  const sources = job.sources === undefined ? 'all sources' : job.sources.join(', ') || 'no sources';
  if (!job.evaluate) return `load ${sources}`;
  const destinations =
    job.destinations === undefined ? 'all destinations' : job.destinations.join(', ') || 'no destinations';
  return `load ${sources}, evaluate segments, sync ${destinations}`;
}

function outcome(s: RunSummary, ms: number): string {
  const loaded = s.loads.reduce((n, t) => n + t.rowsLoaded, 0);
  const rejected = s.loads.reduce((n, t) => n + t.rowsRejected, 0);
  const synced = s.destinations.flatMap((d) => d.audiences);
  const adds = synced.reduce((n, a) => n + a.adds, 0);
  const removes = synced.reduce((n, a) => n + a.removes, 0);
  const held = synced.filter((a) => a.status === 'held').length;
  const parts = [
    `status=${s.status}`,
    `took=${seconds(ms)}`,
    `loaded=${loaded}`,
    `rejected=${rejected}`,
    `audiences=${s.audiences.length}`,
    `adds=${adds}`,
    `removes=${removes}`,
  ];
  if (held) parts.push(`held=${held}`);
  if (s.error) parts.push(`error="${redact(`${s.error.step}: ${s.error.message}`).replace(/\s+/g, ' ')}"`);
  return parts.join(' ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function infoReporter(info: (message: string) => void): Reporter {
  return { stepStarted() {}, stepFinished() {}, progress() {}, info };
}
