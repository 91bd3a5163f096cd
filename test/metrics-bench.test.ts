import { afterEach, describe, expect, it } from 'vitest';
import { correct } from '../bench/bench.ts';
import { periodBounds } from '../bench/metrics-baseline.ts';
import { baselineFigures, differingFigures, figuresStage, metricsStages } from '../bench/stages/metrics.ts';
import { type MetricsOptions, retentionMetrics } from '../metrics/retention.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { AS_OF, seedMetricsStore } from './helpers/metrics-store.ts';

/**
 * The bench's `metrics` stages: the hand-written SQL of bench/metrics-baseline.ts gives exactly retarget's figures
 * on the hand-computed store, and a single differing figure fails the bench.
 */

let wh: Warehouse;
afterEach(() => wh?.close());

const seeded = async () => {
  wh = await Warehouse.open({ path: ':memory:' });
  await seedMetricsStore(wh);
  return wh;
};
const options = (o: Partial<MetricsOptions> = {}): MetricsOptions => ({
  asOf: new Date(AS_OF),
  period: 'quarter',
  periods: 4,
  activeWindowDays: 365,
  lifespanYears: 2,
  ...o,
});

describe('hand-written metrics SQL', () => {
  it('periods: whole calendar periods in UTC, the last ending at or before T', () => {
    const iso = (o: Parameters<typeof periodBounds>[0]) =>
      periodBounds(o).map(([s, e]) => `${s.toISOString().slice(0, 10)}..${e.toISOString().slice(0, 10)}`);
    expect(iso({ asOf: new Date('2026-07-15T12:00:00Z'), period: 'quarter', periods: 2 })).toEqual([
      '2026-01-01..2026-04-01',
      '2026-04-01..2026-07-01',
    ]);
    expect(iso({ asOf: new Date('2026-02-01T00:00:00Z'), period: 'month', periods: 2 })).toEqual([
      '2025-12-01..2026-01-01',
      '2026-01-01..2026-02-01',
    ]);
    expect(iso({ asOf: new Date('2026-11-01T05:00:00Z'), period: 'year', periods: 1 })).toEqual([
      '2025-01-01..2026-01-01',
    ]);
  });

  it.each([
    ['quarters', options()],
    [
      'months, 90-day window, 3-year lifespan',
      options({ period: 'month', periods: 9, activeWindowDays: 90, lifespanYears: 3 }),
    ],
    ['a year', options({ period: 'year', periods: 2 })],
  ])('gives every figure retarget gives on the hand-computed store: %s', async (_, o) => {
    await seeded();
    const ours = (await retentionMetrics(wh, o)).periods;
    const theirs = await baselineFigures(wh, o);
    expect(differingFigures(ours, theirs)).toEqual([]);
    expect(theirs).toEqual(ours);
  });

  it('agrees with the hand-computed figures (not only with retarget)', async () => {
    await seeded();
    const q2 = (await baselineFigures(wh, options({ periods: 2 })))[1];
    expect(q2).toMatchObject({
      customers_start: 4,
      customers_end: 4,
      new_customers: 1,
      crr_pct: 75,
      revenue: 110,
      clv: 105,
      observed_lifespan_years: 0.39,
      cart_abandonment_pct: 50,
      conversion_pct: 44.44,
    });
  });
});

describe('the metrics stages', () => {
  it('time both sides (metrics, metrics:month, report), check every figure and pass on equal figures', async () => {
    await seeded();
    const stages = await metricsStages(wh, { asOf: new Date(AS_OF), reps: 1 });
    expect(stages.map((s) => s.name)).toEqual(['metrics', 'metrics:month', 'report']);
    for (const s of stages) {
      expect(s).toMatchObject({ figures_equal: true, target: 1.5 });
      expect(s.retarget_s).toBeGreaterThan(0);
      expect(s.baseline_s).toBeGreaterThan(0);
    }
    // The report stage wrote the whole page (then removed it).
    expect(stages[2]!.bytes).toBeGreaterThan(10_000);
    expect(correct(stages)).toBe(true);
  });

  it('a single differing figure fails the stage and the bench', async () => {
    await seeded();
    const ours = (await retentionMetrics(wh, options())).periods;
    const theirs = ours.map((p, i) => (i === 3 ? { ...p, conversion_pct: 44.45 } : p));
    expect(differingFigures(ours, theirs)).toEqual([
      '2026-07-01T00:00:00.000Z conversion_pct: retarget 44.44, hand-written 44.45',
    ]);
    expect(differingFigures(ours, theirs.slice(1))).toEqual(['periods: retarget 4, hand-written 3']);
    const stage = figuresStage('metrics', { retarget: [1], baseline: [1] }, ours, theirs);
    expect(stage).toMatchObject({ figures_equal: false, met: false });
    expect(stage.note).toContain('FIGURES DIFFER');
    expect(correct([stage])).toBe(false);
  });
});
