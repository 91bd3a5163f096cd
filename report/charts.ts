import * as echarts from 'echarts';
import type { PeriodMetrics } from '../metrics/retention.ts';
import type { OverlapRow, SnapshotRow } from './gather.ts';

/**
 * The report's charts: ECharts options rendered on the server to SVG strings (no DOM, no script in the page).
 * Each returns the markup of one chart, sized by its viewBox so the page can scale it to any width.
 */

type Option = echarts.EChartsCoreOption;

const WIDTH = 640;
const HEIGHT = 320;

/** One SVG element, without the namespace attributes (inline SVG in HTML needs none) and its fixed size. */
export function renderSvg(option: Option, label: string, height = HEIGHT): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart
      .renderToSVGString()
      .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
      .replace(/^<svg width="\d+" height="\d+"/, `<svg role="img" aria-label="${escapeAttr(label)}"`);
  } finally {
    chart.dispose();
  }
}

function escapeAttr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A run's label on a time axis: its date, with the time when it is not midnight UTC. */
export function runLabel(asOf: Date): string {
  const iso = asOf.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A legend under the plot, every entry shown (a static SVG cannot page a scrolling legend). */
const legend = { type: 'plain', bottom: 0, itemGap: 8, textStyle: { fontSize: 11 } };
/** Legend rows, guessed from the names' lengths, so the plot leaves them room. */
function legendRows(names: string[]): number {
  const perRow = Math.max(1, Math.floor(WIDTH / 150));
  return Math.ceil(names.length / perRow);
}
function gridFor(names: string[]) {
  return { left: 56, right: 16, top: 32, bottom: 36 + legendRows(names) * 20 };
}

/** Members of each of the largest audiences after each run. */
export function sizesChart(snapshots: SnapshotRow[], top: string[]): string {
  const runs = runsOf(snapshots);
  const series = top.map((audience) => {
    const byRun = new Map(snapshots.filter((s) => s.audience === audience).map((s) => [s.run_id, s.members]));
    return { name: audience, type: 'line', data: runs.map((r) => byRun.get(r.run_id) ?? 0), symbolSize: 5 };
  });
  return renderSvg(
    {
      legend,
      grid: gridFor(top),
      xAxis: { type: 'category', data: runs.map((r) => runLabel(r.as_of)) },
      yAxis: { type: 'value', name: 'members' },
      series,
    },
    'Audience sizes after each run',
    HEIGHT + legendRows(top) * 20,
  );
}

/** Members who entered (up) and left (down) any audience, per run. */
export function flowChart(snapshots: SnapshotRow[]): string {
  const runs = runsOf(snapshots);
  const totals = new Map(runs.map((r) => [r.run_id, { entered: 0, exited: 0 }]));
  for (const s of snapshots) {
    const t = totals.get(s.run_id)!;
    t.entered += s.entered;
    t.exited += s.exited;
  }
  const total = (runId: string, key: 'entered' | 'exited') => totals.get(runId)![key];
  return renderSvg(
    {
      legend,
      grid: gridFor(['entered', 'exited']),
      xAxis: { type: 'category', data: runs.map((r) => runLabel(r.as_of)) },
      yAxis: { type: 'value', name: 'members' },
      series: [
        { name: 'entered', type: 'bar', stack: 'flow', data: runs.map((r) => total(r.run_id, 'entered')) },
        { name: 'exited', type: 'bar', stack: 'flow', data: runs.map((r) => -total(r.run_id, 'exited')) },
      ],
    },
    'Entries and exits per run',
  );
}

/** Shared members of each pair of audiences; the diagonal is each audience's size. */
export function overlapChart(top: string[], overlap: OverlapRow[]): string {
  const index = new Map(top.map((a, i) => [a, i]));
  const data = overlap.map((o) => [index.get(o.a), index.get(o.b), o.shared]);
  const max = Math.max(1, ...overlap.map((o) => o.shared));
  const height = Math.max(HEIGHT, 120 + top.length * 36);
  return renderSvg(
    {
      grid: { left: 190, right: 16, top: 16, bottom: 130 },
      xAxis: { type: 'category', data: top, axisLabel: { rotate: 40, width: 130, overflow: 'truncate' } },
      yAxis: { type: 'category', data: top, inverse: true, axisLabel: { width: 180, overflow: 'truncate' } },
      visualMap: { min: 0, max, show: false, inRange: { color: ['#f3f6fb', '#2f6fb5'] } },
      series: [{ type: 'heatmap', data, label: { show: true, fontSize: 10 } }],
    },
    'Members shared by each pair of audiences',
    height,
  );
}

/** A figure per period as bars (percentages of retention, conversion, cart abandonment). */
export function periodChart(
  periods: PeriodMetrics[],
  labels: string[],
  figures: Array<keyof PeriodMetrics>,
  title: string,
): string {
  return renderSvg(
    {
      legend,
      grid: gridFor(figures),
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', name: '%' },
      series: figures.map((f) => ({ name: f, type: 'bar', data: periods.map((p) => p[f]) })),
    },
    title,
  );
}

function runsOf(snapshots: SnapshotRow[]): Array<{ run_id: string; as_of: Date }> {
  const runs = new Map<string, Date>();
  for (const s of snapshots) runs.set(s.run_id, s.as_of);
  return [...runs].map(([run_id, as_of]) => ({ run_id, as_of }));
}
