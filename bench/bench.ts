import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSegments } from '../dsl/index.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { datasetStages } from './datasets.ts';
import { generateStore } from './generate.ts';
import type { StageResult } from './measure.ts';
import { type BenchReport, machine } from './report.ts';
import { fullNightStage } from './stages/full-night.ts';
import { growthStage } from './stages/growth.ts';
import { loadStages } from './stages/load.ts';
import { metricsStages } from './stages/metrics.ts';
import { type NightResult, nightStages } from './stages/night.ts';
import { segmentStages } from './stages/segments.ts';
import { syncStages } from './stages/sync.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const STAGE_GROUPS = [
  'load',
  'night',
  'full_night',
  'growth',
  'segments',
  'metrics',
  'sync',
  'datasets',
] as const;
export type StageGroup = (typeof STAGE_GROUPS)[number];

export interface BenchOptions {
  scale: number;
  /** Repetitions of each alternating baseline/retarget pair (median reported). */
  reps: number;
  /** DuckDB memory_limit for every database the bench opens, e.g. '1GB'. */
  memoryLimit?: string;
  /** Audience members for the sync planning stage (independent of scale). */
  members: number;
  /** Scratch directory: generated files (cached per scale and seed) and databases. */
  workDir: string;
  /** Real datasets (../shared/datasets); skipped when absent. */
  datasetsDir?: string;
  stages: StageGroup[];
  /** Repetitions on the real datasets (small data, but some segments are slow on wholesale baskets). */
  datasetReps: number;
  seed: number;
  /** Peak RSS target (MiB); the target is 2 GiB at scale 1. */
  rssTargetMib: number;
  /** The small and the large store of the growth stage (the night at 3x the data against 1x). */
  growthScales: [number, number];
  log: (message: string) => void;
}

export function defaultOptions(): BenchOptions {
  return {
    scale: 0.1,
    reps: 3,
    memoryLimit: '1GB',
    members: 1_000_000,
    workDir: join(tmpdir(), 'retarget-bench'),
    datasetsDir: resolve(ROOT, '../shared/datasets'),
    stages: [...STAGE_GROUPS],
    datasetReps: 1,
    seed: 42,
    rssTargetMib: 2048,
    growthScales: [0.1, 0.3],
    log: () => {},
  };
}

/** Runs the selected stages and returns the report (not yet written). `ok` is false on any wrong result. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date();
  const log = options.log;
  const want = (g: StageGroup) => options.stages.includes(g);
  const stages: StageResult[] = [];
  const figures: Record<string, unknown> = {};
  const storeDir = join(options.workDir, `store-s${options.scale}-seed${options.seed}`);

  log(`generating the store at scale ${options.scale} in ${storeDir} ...`);
  const store = await generateStore({
    scale: options.scale,
    dir: storeDir,
    seed: options.seed,
    // Not measured: the generator may use DuckDB's default memory limit.
  });
  figures.generate = { seconds: store.seconds, rows: store.rows, increment_rows: store.incrementRows };
  const asOf = new Date(store.asOf);

  // A stage group that throws (e.g. out of memory) is reported as failed; the other groups still run.
  const guard = async (group: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      const error = String((err as Error).message ?? err).split('\n')[0];
      log(`${group} failed: ${error}`);
      stages.push({
        name: group,
        retarget_s: null,
        baseline_s: null,
        ratio: null,
        target: null,
        met: false,
        error,
      });
    }
  };

  if (want('load')) {
    for (const format of ['parquet', 'csv'] as const) {
      log(`stage 1: load ${format} (${options.reps} alternating repetitions) ...`);
      await guard(`load:${format}`, async () => {
        stages.push(
          ...(await loadStages({
            dir: join(storeDir, format),
            format,
            workDir: options.workDir,
            reps: options.reps,
            memoryLimit: options.memoryLimit,
          })),
        );
      });
    }
  }

  let nightDb: string | undefined;
  let segmentsAsOf = asOf;
  let fullNight: NightResult | undefined;
  if (want('night') || want('segments') || want('metrics')) {
    log('stage 3 and 5: full night, then the next night with one new day (child processes) ...');
    await guard('incremental_night', async () => {
      const night = await nightStages({
        baseDir: join(storeDir, 'parquet'),
        incrementDir: join(storeDir, 'increment', 'parquet'),
        workDir: options.workDir,
        asOf,
        memoryLimit: options.memoryLimit,
        rssTargetMib: options.rssTargetMib,
      });
      if (want('night')) stages.push(night.incremental, night.memory);
      figures.night = { full: night.full, next: night.next };
      nightDb = night.db;
      fullNight = night.full;
      segmentsAsOf = night.nextAsOf;
    });
  }

  if (want('full_night')) {
    log('full_night: the full first night against raw load + hand-written segments + bare COPY ...');
    await guard('full_night', async () => {
      stages.push(
        await fullNightStage({
          dir: join(storeDir, 'parquet'),
          workDir: options.workDir,
          asOf,
          memoryLimit: options.memoryLimit,
          full: fullNight,
        }),
      );
    });
  }

  if (want('growth')) {
    log(`growth: full nights at scales ${options.growthScales.join(' and ')} ...`);
    await guard('growth', async () => {
      stages.push(
        await growthStage({
          scales: options.growthScales,
          seed: options.seed,
          workDir: options.workDir,
          memoryLimit: options.memoryLimit,
          log,
        }),
      );
    });
  }

  if (want('segments') && nightDb) {
    const db = nightDb;
    log(`stage 2: segments vs hand-written SQL as of ${segmentsAsOf.toISOString()} ...`);
    await guard('segments', async () => {
      const wh = await Warehouse.open({ path: db, memoryLimit: options.memoryLimit });
      try {
        stages.push(
          ...(await segmentStages(wh, {
            segments: await loadSegments(),
            asOf: segmentsAsOf,
            reps: options.reps,
          })),
        );
      } finally {
        wh.close();
      }
    });
  }

  if (want('metrics') && nightDb) {
    const db = nightDb;
    log(`metrics: retarget metrics vs hand-written SQL as of ${segmentsAsOf.toISOString()} ...`);
    await guard('metrics', async () => {
      const wh = await Warehouse.open({ path: db, memoryLimit: options.memoryLimit });
      try {
        stages.push(...(await metricsStages(wh, { asOf: segmentsAsOf, reps: options.reps })));
      } finally {
        wh.close();
      }
    });
  }

  if (want('sync')) {
    log(`stage 4: sync planning for ${options.members} members ...`);
    await guard('sync_planning', async () => {
      stages.push(
        ...(await syncStages({
          members: options.members,
          reps: options.reps,
          memoryLimit: options.memoryLimit,
          workDir: options.workDir,
        })),
      );
    });
  }

  const datasets: BenchReport['datasets'] = [];
  if (want('datasets') && options.datasetsDir && existsSync(options.datasetsDir)) {
    log(`real datasets from ${options.datasetsDir} ...`);
    datasets.push(
      ...(await datasetStages({
        datasetsDir: options.datasetsDir,
        workDir: join(options.workDir, 'datasets'),
        reps: options.datasetReps,
        memoryLimit: options.memoryLimit,
        log,
      })),
    );
  }

  for (const p of ['night.duckdb', 'night.duckdb.wal', 'night-source'])
    rmSync(join(options.workDir, p), { recursive: true, force: true });
  const all = [...stages, ...datasets.flatMap((d) => d.stages)];
  return {
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    ok: correct(all) && datasets.every((d) => !d.error),
    machine: machine(),
    versions: versions(),
    scale: options.scale,
    options: {
      reps: options.reps,
      memory_limit: options.memoryLimit ?? null,
      members: options.members,
      seed: options.seed,
      stages: options.stages,
      dataset_reps: options.datasetReps,
      rss_target_mib: options.rssTargetMib,
      growth_scales: options.growthScales,
    },
    figures,
    stages,
    datasets,
  };
}

/** Results must be right, whatever the speed: equal memberships, equal loads, a correct plan, equal metrics. */
export function correct(stages: StageResult[]): boolean {
  return stages.every((s) => {
    const m = s.membership as { equal?: boolean } | undefined;
    if (m && m.equal === false) return false;
    if (s.rows_equal === false) return false;
    if (s.plan_correct === false) return false;
    if (s.figures_equal === false) return false;
    if (s.error) return false;
    return true;
  });
}

/** Targets met (for --strict). */
export function targetsMet(report: BenchReport): boolean {
  return [...report.stages, ...report.datasets.flatMap((d) => d.stages)].every((s) => s.met !== false);
}

function versions(): BenchReport['versions'] {
  const require = createRequire(import.meta.url);
  const pkg = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    node: process.version,
    duckdb: pkg('@duckdb/node-api'),
    retarget: (require(join(ROOT, 'package.json')) as { version: string }).version,
  };
}
