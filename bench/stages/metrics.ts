import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audienceLift } from '../../metrics/lift.ts';
import { type MetricsOptions, type PeriodMetrics, retentionMetrics } from '../../metrics/retention.ts';
import { REPORT_METRICS, writeReport } from '../../report/build.ts';
import { gatherHistory } from '../../report/gather.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { alternate, ratioStage, type StageResult } from '../measure.ts';
import { metricsBaselineSql } from '../metrics-baseline.ts';

/** The target for `retarget metrics` and `retarget report` against hand-written SQL. */
export const METRICS_TARGET = 1.5;

/**
 * `metrics` runs the defaults of `retarget metrics` (4 quarters, window 365 days, lifespan 2 years). The generated
 * store's events cover the last 30 days before T only, after the last whole quarter, so `metrics:month` (12
 * months) also measures the event figures (carts, conversion) on every event of the store.
 */
const VARIANTS: Array<{ name: string; options: Omit<MetricsOptions, 'asOf'> }> = [
  { name: 'metrics', options: { period: 'quarter', periods: 4, activeWindowDays: 365, lifespanYears: 2 } },
  {
    name: 'metrics:month',
    options: { period: 'month', periods: 12, activeWindowDays: 365, lifespanYears: 2 },
  },
];

export interface MetricsStageOptions {
  /** T: the latest run's, as `retarget metrics` defaults to. */
  asOf: Date;
  reps: number;
}

/**
 * `retarget metrics`' figures (retentionMetrics, the function the command prints) vs the hand-written SQL of
 * bench/metrics-baseline.ts, alternately on the same database. Every figure of every period must be equal: a
 * difference marks the stage failed and the bench fails.
 */
export async function metricsStages(wh: Warehouse, o: MetricsStageOptions): Promise<StageResult[]> {
  const stages: StageResult[] = [];
  for (const variant of VARIANTS) {
    const options = { ...variant.options, asOf: o.asOf };
    let ours: PeriodMetrics[] = [];
    let theirs: PeriodMetrics[] = [];
    const samples = await alternate(
      o.reps,
      async () => {
        theirs = await baselineFigures(wh, options);
      },
      async () => {
        ours = (await retentionMetrics(wh, options)).periods;
      },
    );
    stages.push(figuresStage(variant.name, samples, ours, theirs));
  }
  stages.push(await reportStage(wh, o));
  return stages;
}

/**
 * `report`: `retarget report` (writeReport: every query, the charts rendered to SVG, the page written) vs the
 * hand-written figures plus the history and lift queries the report runs (nobody writes those twice), alternately.
 * The report's figures must equal the hand-written ones, as in `metrics`.
 */
export async function reportStage(wh: Warehouse, o: MetricsStageOptions): Promise<StageResult> {
  const options = { ...REPORT_METRICS, asOf: o.asOf };
  const dir = mkdtempSync(join(tmpdir(), 'retarget-bench-report-'));
  const file = join(dir, 'report.html');
  let theirs: PeriodMetrics[] = [];
  try {
    const baseline = async () => {
      theirs = await baselineFigures(wh, options);
      await gatherHistory(wh, o.asOf);
      await audienceLift(wh, { asOf: o.asOf });
    };
    const report = () => writeReport(wh, o.asOf, file);
    // Warm-up (untimed): the first page pays for loading the chart library once per process.
    await baseline();
    await report();
    const samples = await alternate(o.reps, baseline, report);
    const ours = (await retentionMetrics(wh, options)).periods;
    return { ...figuresStage('report', samples, ours, theirs), bytes: statSync(file).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hand-written figures in the JSON shape of `retarget metrics --json`. */
export async function baselineFigures(wh: Warehouse, options: MetricsOptions): Promise<PeriodMetrics[]> {
  const rows = await wh.all<Record<string, unknown>>(metricsBaselineSql(options));
  return rows.map(
    (row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v,
        ]),
      ) as unknown as PeriodMetrics,
  );
}

/** "period_end figure: retarget x, hand-written y" for every figure that differs (none when equal). */
export function differingFigures(ours: PeriodMetrics[], theirs: PeriodMetrics[]): string[] {
  if (ours.length !== theirs.length)
    return [`periods: retarget ${ours.length}, hand-written ${theirs.length}`];
  return ours.flatMap((p, i) =>
    (Object.keys(theirs[i]!) as Array<keyof PeriodMetrics>)
      .filter((k) => p[k] !== theirs[i]![k])
      .map((k) => `${theirs[i]!.period_end} ${k}: retarget ${p[k]}, hand-written ${theirs[i]![k]}`),
  );
}

export function figuresStage(
  name: string,
  samples: Parameters<typeof ratioStage>[1],
  ours: PeriodMetrics[],
  theirs: PeriodMetrics[],
): StageResult {
  const differences = differingFigures(ours, theirs);
  const stage = ratioStage(name, samples, METRICS_TARGET, {
    periods: ours.length,
    figures_equal: differences.length === 0,
  });
  if (differences.length > 0) {
    stage.met = false;
    stage.note = `FIGURES DIFFER: ${differences.slice(0, 5).join('; ')}`;
  }
  return stage;
}
