import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINES } from '../bench/baselines.ts';
import { correct, defaultOptions, runBench } from '../bench/bench.ts';
import { generateStore } from '../bench/generate.ts';
import { writeReport } from '../bench/report.ts';
import { compareMembership } from '../bench/stages/segments.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

const work = tempDir('bench-test');

describe('bench (smoke, scale 0.001)', () => {
  it('generates the same store twice and caches it', async () => {
    const a = await generateStore({ scale: 0.001, dir: join(work, 'g1'), formats: ['parquet'] });
    const b = await generateStore({ scale: 0.001, dir: join(work, 'g2'), formats: ['parquet'] });
    expect(a.rows).toEqual(b.rows);
    expect(a.rows.customers).toBe(1000);
    expect(a.rows.events).toBe(20_000);
    expect(a.incrementRows.events).toBeGreaterThan(0);
    const again = await generateStore({ scale: 0.001, dir: join(work, 'g1'), formats: ['parquet'] });
    expect(again.seconds).toBe(a.seconds); // read from the manifest, not regenerated
  });

  it('runs every stage and writes the JSON shape the issue asks for', async () => {
    const report = await runBench({
      ...defaultOptions(),
      scale: 0.001,
      reps: 1,
      members: 2_000,
      workDir: work,
      datasetsDir: undefined,
      stages: ['load', 'night', 'segments', 'sync'],
    });
    const path = writeReport(report, join(work, 'results'));
    const json = JSON.parse(readFileSync(path, 'utf8')) as typeof report;
    expect(json).toMatchObject({ scale: 0.001, ok: true, versions: { node: process.version } });
    expect(json.machine.cpus).toBeGreaterThan(0);
    const names = json.stages.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'load:parquet',
        'load:csv',
        'incremental_night',
        'peak_rss',
        'sync_planning',
        'sync_requests',
        ...Object.keys(BASELINES).map((n) => `segment:${n}`),
      ]),
    );
    for (const s of json.stages) {
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining(['name', 'retarget_s', 'baseline_s', 'ratio', 'target', 'met']),
      );
      expect(s.met === null || typeof s.met === 'boolean').toBe(true);
    }
    for (const s of json.stages.filter((x) => x.name.startsWith('segment:'))) {
      expect(s.membership).toMatchObject({ equal: true, only_retarget: 0, only_baseline: 0 });
      expect(s.ratio).toBeGreaterThan(0);
    }
    // Every segment has members in the generated store, so equality is not vacuous.
    const members = json.stages
      .filter((x) => x.name.startsWith('segment:'))
      .map((x) => (x.membership as { members: number }).members);
    expect(Math.min(...members)).toBeGreaterThan(0);
    const requests = json.stages.find((s) => s.name === 'sync_requests')!;
    expect(requests.value).toBe(requests.target);
    expect(requests.met).toBe(true);
    const rss = json.stages.find((s) => s.name === 'peak_rss')!;
    expect(rss.unit).toBe('MiB');
    expect(rss.value).toBeGreaterThan(50);
  }, 120_000);

  it('notices when a hand-written query and retarget disagree', async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    try {
      await wh.run(
        `CREATE TEMP TABLE bench_retarget AS SELECT * FROM (VALUES ('a', 'c1'), ('a', 'c2')) t(audience, customer_id)`,
      );
      await wh.run(
        `CREATE TEMP TABLE bench_baseline AS SELECT * FROM (VALUES ('a', 'c1'), ('b', 'c2')) t(audience, customer_id)`,
      );
      const m = await compareMembership(wh);
      expect(m).toMatchObject({ equal: false, only_retarget: 1, only_baseline: 1 });
      expect(
        correct([
          { name: 'x', retarget_s: 1, baseline_s: 1, ratio: 1, target: 1.25, met: false, membership: m },
        ]),
      ).toBe(false);
    } finally {
      wh.close();
    }
  });
});
