import { compileSegment, type LoadedSegment } from '../../dsl/index.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { BASELINES } from '../baselines.ts';
import { alternate, ratioStage, type StageResult, seconds } from '../measure.ts';

/** Short queries repeat until each side has run about this long (capped), so the median means something. */
const MIN_SECONDS_PER_SIDE = 1;
const MAX_REPS = 30;
/** Below this (baseline median), a ratio measures query planning, not evaluation. */
const TOO_SHORT_S = 0.02;

export interface SegmentStageOptions {
  segments: LoadedSegment[];
  asOf: Date;
  reps: number;
  /** Prefix of the stage names (e.g. a dataset's name). */
  prefix?: string;
}

export interface Membership {
  members: number;
  audiences: number;
  /** Members only one side returned (0 and 0 when identical). */
  only_retarget: number;
  only_baseline: number;
  equal: boolean;
}

/**
 * Stage 2: each shipped segment compiled by retarget vs the hand-written query for the same definition, run
 * alternately in the same process on the same database, both materialised into a temp table. Membership
 * (audience, customer_id) must be identical: a difference marks the stage failed and the bench fails.
 */
export async function segmentStages(wh: Warehouse, options: SegmentStageOptions): Promise<StageResult[]> {
  const stages: StageResult[] = [];
  for (const { definition } of options.segments) {
    const name = `${options.prefix ?? ''}segment:${definition.name}`;
    const baseline = BASELINES[definition.name];
    const compiled = compileSegment(definition, { asOf: options.asOf });
    const retargetSql = `CREATE OR REPLACE TEMP TABLE bench_retarget AS
      SELECT audience, customer_id, attributes FROM (${compiled.sql}) q`;
    if (!baseline) {
      const r = await timeOnce(wh, retargetSql, compiled.parameters);
      stages.push({
        name,
        retarget_s: r,
        baseline_s: null,
        ratio: null,
        target: 1.25,
        met: null,
        note: 'no hand-written baseline in bench/baselines.ts for this segment: add one',
      });
      continue;
    }
    const baselineSql = `CREATE OR REPLACE TEMP TABLE bench_baseline AS ${baseline(options.asOf)}`;
    let side = 'baseline';
    let samples: Awaited<ReturnType<typeof alternate>>;
    try {
      // Warm-up (untimed, both sides), then enough repetitions for a stable median on millisecond queries.
      const warmBaseline = await seconds(() => wh.run(baselineSql));
      side = 'retarget';
      const warm = Math.max(warmBaseline, await seconds(() => wh.run(retargetSql, compiled.parameters)));
      const reps = Math.min(
        MAX_REPS,
        Math.max(options.reps, Math.ceil(MIN_SECONDS_PER_SIDE / Math.max(warm, 1e-3))),
      );
      samples = await alternate(
        reps,
        () => {
          side = 'baseline';
          return wh.run(baselineSql);
        },
        () => {
          side = 'retarget';
          return wh.run(retargetSql, compiled.parameters);
        },
      );
    } catch (err) {
      // One failing segment (e.g. out of memory) must not hide the others.
      stages.push({
        name,
        retarget_s: null,
        baseline_s: null,
        ratio: null,
        target: 1.25,
        met: false,
        error: `${side} failed: ${String((err as Error).message ?? err).split('\n')[0]}`,
      });
      continue;
    }
    const membership = await compareMembership(wh);
    const stage = ratioStage(name, samples, 1.25, { membership });
    if ((stage.baseline_s ?? 0) < TOO_SHORT_S) {
      // A few milliseconds are mostly parsing and planning: the ratio is shown, not judged.
      stage.met = null;
      stage.note = `under ${TOO_SHORT_S * 1000} ms: fixed per-query cost dominates, ratio not judged`;
    }
    if (!membership.equal) {
      stage.met = false;
      stage.note = `MEMBERSHIP DIFFERS: ${membership.only_retarget} only in retarget, ${membership.only_baseline} only in the hand-written query`;
    }
    stages.push(stage);
  }
  await wh.run('DROP TABLE IF EXISTS bench_retarget');
  await wh.run('DROP TABLE IF EXISTS bench_baseline');
  return stages;
}

async function timeOnce(wh: Warehouse, sql: string, params: unknown[]): Promise<number> {
  const started = performance.now();
  await wh.run(sql, params);
  return Math.round(performance.now() - started) / 1000;
}

export async function compareMembership(wh: Warehouse): Promise<Membership> {
  const row = await wh.one<Record<string, bigint>>(`
    SELECT
      (SELECT count(*) FROM bench_retarget) AS members,
      (SELECT count(DISTINCT audience) FROM bench_retarget) AS audiences,
      (SELECT count(*) FROM (SELECT audience, customer_id FROM bench_retarget
                             EXCEPT ALL SELECT audience, customer_id FROM bench_baseline)) AS only_retarget,
      (SELECT count(*) FROM (SELECT audience, customer_id FROM bench_baseline
                             EXCEPT ALL SELECT audience, customer_id FROM bench_retarget)) AS only_baseline`);
  const n = (k: string) => Number(row?.[k] ?? 0);
  return {
    members: n('members'),
    audiences: n('audiences'),
    only_retarget: n('only_retarget'),
    only_baseline: n('only_baseline'),
    equal: n('only_retarget') === 0 && n('only_baseline') === 0,
  };
}
