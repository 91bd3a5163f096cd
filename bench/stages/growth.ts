import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateStore } from '../generate.ts';
import { round, type StageResult } from '../measure.ts';
import { type NightResult, runNight } from './night.ts';

export interface GrowthOptions {
  /** The small and the large store (default 0.1 and 0.3; 1 and 3 when asked). */
  scales: [number, number];
  seed: number;
  workDir: string;
  memoryLimit?: string;
  log: (message: string) => void;
}

/** Near-linear: the large night may take 10% more than the size ratio times the small one (3.3 for 3x). */
const SLACK = 1.1;

/**
 * `growth`: the full first night (runPipeline in a child process, fresh database) on a store `scales[1] /
 * scales[0]` times larger, against the small store, in the same run. Each store is generated (or reused from the
 * work directory) first, untimed.
 */
export async function growthStage(options: GrowthOptions): Promise<StageResult> {
  const [small, large] = options.scales;
  const nights: NightResult[] = [];
  for (const scale of [small, large]) {
    const dir = join(options.workDir, `store-s${scale}-seed${options.seed}`);
    options.log(`growth: store at scale ${scale} ...`);
    const store = await generateStore({ scale, dir, seed: options.seed });
    options.log(`growth: full night at scale ${scale} ...`);
    nights.push(await night(options, join(dir, 'parquet'), new Date(store.asOf)));
  }
  const [a, b] = nights as [NightResult, NightResult];
  const target = round((SLACK * large) / small, 2);
  const ratio = b.seconds / a.seconds;
  return {
    name: 'growth',
    retarget_s: round(b.seconds),
    baseline_s: round(a.seconds),
    ratio: round(ratio, 3),
    target,
    met: ratio <= target,
    note: `retarget_s = the full night at scale ${large}, baseline_s = at scale ${small} (${round(large / small, 2)}x the data)`,
    scales: [small, large],
    members: [a.members, b.members],
    max_rss_mib: [round(a.max_rss_mib, 1), round(b.max_rss_mib, 1)],
    steps: [a, b].map((n) => n.steps.map((s) => ({ ...s, seconds: round(s.seconds) }))),
  };
}

async function night(options: GrowthOptions, sourceDir: string, asOf: Date): Promise<NightResult> {
  const db = join(options.workDir, 'growth.duckdb');
  const csvDir = join(options.workDir, 'growth-audiences');
  const clean = () => {
    for (const p of [db, `${db}.wal`, csvDir]) rmSync(p, { recursive: true, force: true });
  };
  clean();
  try {
    return await runNight({ db, sourceDir, csvDir, asOf, memoryLimit: options.memoryLimit });
  } finally {
    clean();
  }
}
