import type { AudienceLift, LiftReport } from '../metrics/lift.ts';
import { renderSvg } from './charts.ts';
import { chart, figure, type Html, html, section, table } from './html.ts';

/** Holdout lift per audience: the figures of `retarget lift --json`, the interval drawn around each lift. */

export function liftSection(report: LiftReport): Html {
  if (report.audiences.length === 0)
    return section(
      'lift',
      'Holdout lift',
      'No holdouts configured: no audience has held-out members, so nothing measures what its ads changed. Give a segment .holdout(share) or set holdouts in retarget.config.ts (docs/metrics.md).',
      [],
    );
  const measured = report.audiences.filter((a) => a.sufficient);
  return section(
    'lift',
    'Holdout lift',
    `Members who entered at least ${report.window_days} days before T: the share who bought within ${report.window_days} days of entering, exposed vs held out, the difference (percentage points) with its 95% interval, and the revenue per exposed member it adds (docs/metrics.md).`,
    [
      measured.length
        ? chart(liftChart(measured), 'Lift with its 95% interval (percentage points)')
        : html`<p class="empty">No audience has enough members on both sides for an interval yet.</p>`,
      table(
        [
          'audience',
          'held out',
          'exposed',
          'buyers',
          'rate',
          'held-out',
          'buyers',
          'rate',
          'lift',
          'low',
          'high',
          'revenue/exposed',
          '',
        ],
        report.audiences.map(liftRow),
      ),
    ],
    true,
  );
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
const pts = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}`);
const money = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);
const count = (v: number) => v.toLocaleString('en-US');

function liftRow(a: AudienceLift): Html {
  const at = (metric: keyof AudienceLift) => ({ metric, audience: a.audience });
  return html`<tr><td class="name">${a.audience}</td>${[
    figure(a.holdout_share, pct(a.holdout_share), at('holdout_share')),
    figure(a.exposed_members, count(a.exposed_members), at('exposed_members')),
    figure(a.exposed_purchasers, count(a.exposed_purchasers), at('exposed_purchasers')),
    figure(a.exposed_rate, pct(a.exposed_rate), at('exposed_rate')),
    figure(a.holdout_members, count(a.holdout_members), at('holdout_members')),
    figure(a.holdout_purchasers, count(a.holdout_purchasers), at('holdout_purchasers')),
    figure(a.holdout_rate, pct(a.holdout_rate), at('holdout_rate')),
    figure(a.lift, pts(a.lift), at('lift')),
    figure(a.ci_low, pts(a.ci_low), at('ci_low')),
    figure(a.ci_high, pts(a.ci_high), at('ci_high')),
    figure(
      a.incremental_revenue_per_exposed,
      money(a.incremental_revenue_per_exposed),
      at('incremental_revenue_per_exposed'),
    ),
  ]}<td class="text note">${a.message ?? ''}</td></tr>`;
}

/** A bar per audience (lift, percentage points) with a whisker from the interval's low to its high end. */
function liftChart(audiences: AudienceLift[]): string {
  const points = (v: number | null) => (v === null ? null : Math.round(v * 10_000) / 100);
  return renderSvg(
    {
      grid: { left: 56, right: 16, top: 24, bottom: 90 },
      xAxis: {
        type: 'category',
        data: audiences.map((a) => a.audience),
        axisLabel: { rotate: 30, width: 120, overflow: 'truncate' },
      },
      yAxis: { type: 'value', name: 'points' },
      series: [
        { name: 'lift', type: 'bar', data: audiences.map((a) => points(a.lift)), barMaxWidth: 40 },
        {
          name: '95% interval',
          type: 'custom',
          data: audiences.map((a, i) => [i, points(a.ci_low), points(a.ci_high)]),
          // Both ends on the y axis, so its extent covers the whole interval.
          encode: { x: 0, y: [1, 2] },
          renderItem: whisker,
          z: 10,
        },
      ],
    },
    'Holdout lift per audience with its 95% interval',
  );
}

interface RenderApi {
  value(dim: number): number;
  coord(point: number[]): number[];
}

/** One interval: a vertical line from low to high with a cap at each end. */
function whisker(_params: unknown, api: RenderApi) {
  const [x, low] = api.coord([api.value(0), api.value(1)]) as [number, number];
  const high = api.coord([api.value(0), api.value(2)])[1]!;
  const style = { stroke: '#1d2430', lineWidth: 1.5 };
  const line = (x1: number, y1: number, x2: number, y2: number) => ({
    type: 'line',
    shape: { x1, y1, x2, y2 },
    style,
  });
  return {
    type: 'group',
    children: [line(x, low, x, high), line(x - 6, low, x + 6, low), line(x - 6, high, x + 6, high)],
  };
}
