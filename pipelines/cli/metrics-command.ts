import type { RetargetConfig } from '../../config/config.ts';
import {
  COUNT_FIGURES,
  METRIC_FIGURES,
  type MetricsFacts,
  type MetricsReport,
  metricsFacts,
  metricsWarnings,
  type Period,
  type PeriodMetrics,
  periodLabel,
  retentionMetrics,
} from '../../metrics/retention.ts';
import { UserError } from './errors.ts';
import { defaultAsOf, openForReading } from './read.ts';

/** `retarget metrics`: retention metrics per period, read-only (definitions: docs/metrics.md). */

export interface MetricsFlags {
  db?: string;
  asOf?: Date;
  period: Period;
  periods: number;
  activeWindow: number;
  lifespan: number;
  json?: boolean;
}

/** Bounds past which a figure means nothing (and DuckDB's interval arithmetic would overflow). */
const MAX_PERIODS = 1000;
const MAX_WINDOW_DAYS = 36_500;

export async function metricsCommand(config: RetargetConfig, flags: MetricsFlags): Promise<void> {
  if (flags.periods > MAX_PERIODS)
    throw new UserError(`--periods ${flags.periods}: at most ${MAX_PERIODS} periods`);
  if (flags.activeWindow > MAX_WINDOW_DAYS)
    throw new UserError(`--active-window ${flags.activeWindow}: at most ${MAX_WINDOW_DAYS} days (100 years)`);
  const wh = await openForReading(config, flags.db);
  let report: MetricsReport;
  let facts: MetricsFacts;
  try {
    const asOf = await defaultAsOf(wh, flags.asOf);
    report = await retentionMetrics(wh, {
      asOf,
      period: flags.period,
      periods: flags.periods,
      activeWindowDays: flags.activeWindow,
      lifespanYears: flags.lifespan,
    });
    facts = await metricsFacts(wh, asOf);
  } finally {
    wh.close();
  }
  for (const w of metricsWarnings(report, facts)) process.stderr.write(`warning: ${w}\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatMetrics(report)}\n`);
}

/** Counts as whole numbers, every other figure with two decimals (as the views round them), null as a dash. */
function cell(figure: keyof PeriodMetrics, v: unknown): string {
  if (v === null) return '—';
  const digits = COUNT_FIGURES.has(figure) ? 0 : 2;
  return (v as number).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function formatMetrics(r: MetricsReport): string {
  const head = `Retention metrics as of ${r.as_of}: ${r.periods.length} ${r.period}s (S, E], active window ${r.active_window_days} days, lifespan ${r.lifespan_years} years`;
  const rows = [
    ['', ...r.periods.map((p) => periodLabel(r.period, p.period_start))],
    ...METRIC_FIGURES.map((f) => [f, ...r.periods.map((p) => cell(f, p[f]))]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [
    head,
    '',
    line(rows[0]!),
    rule,
    ...rows.slice(1).map(line),
    '',
    'Definitions: docs/metrics.md. —: nothing to divide by.',
  ].join('\n');
}
