import { describe, expect, it } from 'vitest';
import { defaultOptions, runBench } from '../bench/bench.ts';
import { tempDir } from './helpers/temp.ts';

const work = tempDir('bench-stages');

describe('bench stages of issue 13 (smoke, scale 0.001)', () => {
  it('load against the physical limit, full_night against its limits, growth against the smaller store', async () => {
    const report = await runBench({
      ...defaultOptions(),
      scale: 0.001,
      reps: 1,
      workDir: work,
      datasetsDir: undefined,
      stages: ['load', 'full_night', 'growth'],
      growthScales: [0.001, 0.003],
    });
    expect(report.ok).toBe(true);
    const stage = (name: string) => report.stages.find((s) => s.name === name)!;
    for (const format of ['parquet', 'csv']) {
      const keyed = stage(`load:${format}`);
      const raw = stage(`load:${format}_vs_raw`);
      expect(raw).toMatchObject({ target: 2, rows_equal: true });
      expect(keyed).toMatchObject({ target: 1.3, rows_equal: true });
      // The same retarget load judged against both baselines, measured in the same run.
      expect(raw.retarget_s).toBe(keyed.retarget_s);
      expect(raw.baseline_s).toBeGreaterThan(0);
      expect((raw.rows as Record<string, number>).events).toBe(20_000);
    }
    const night = stage('full_night');
    const limits = night.limits as { load_s: number; segments_s: number; copy_s: number; members: number };
    expect(night.target).toBe(2);
    expect(night.baseline_s).toBeCloseTo(limits.load_s + limits.segments_s + limits.copy_s, 3);
    // The hand-written queries find the members the night found: the limit does the same work.
    expect(limits.members).toBe(night.members);
    expect(limits.members).toBeGreaterThan(0);
    const growth = stage('growth');
    expect(growth).toMatchObject({ target: 3.3, scales: [0.001, 0.003] });
    const [small, large] = growth.members as number[];
    expect(large!).toBeGreaterThan(2 * small!);
    expect(growth.ratio).toBeCloseTo(growth.retarget_s! / growth.baseline_s!, 2);
  }, 300_000);
});
