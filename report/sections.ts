import {
  COUNT_FIGURES,
  METRIC_FIGURES,
  type MetricsReport,
  type PeriodMetrics,
  periodLabel,
} from '../metrics/retention.ts';
import { redact } from '../shared/redact.ts';
import { flowChart, overlapChart, periodChart, runLabel, sizesChart } from './charts.ts';
import type { HistoryData, RunRow, SyncRow } from './gather.ts';
import { chart, type Html, html, num, section, table } from './html.ts';

/** The report's sections but lift (report/lift-section.ts): each a card of charts and tables. */

export function audiencesSection(h: HistoryData): Html {
  if (h.snapshots.length === 0)
    return section('audiences', 'Audiences', 'No real run has stored an audience yet.', []);
  const lastRun = h.snapshots.at(-1)!.run_id;
  const latest = h.snapshots.filter((s) => s.run_id === lastRun).sort((a, b) => b.members - a.members);
  const rows = latest.map(
    (s) =>
      html`<tr><td class="name">${s.audience}</td>${num(s.members, 0, { metric: 'members', audience: s.audience })}${num(s.entered, 0, { metric: 'entered', audience: s.audience })}${num(s.exited, 0, { metric: 'exited', audience: s.audience })}</tr>`,
  );
  const runs = new Set(h.snapshots.map((s) => s.run_id)).size;
  return section(
    'audiences',
    'Audiences over time',
    `Members after each of the last ${runs} real runs (the ${h.top.length} largest audiences), and how many entered and left any audience per run. The table is the latest run.`,
    [
      html`<div class="charts">${chart(sizesChart(h.snapshots, h.top), 'Members per audience')}${chart(flowChart(h.snapshots), 'Entered (up) and exited (down), all audiences')}</div>`,
      table(['audience', 'members', 'entered', 'exited'], rows),
    ],
  );
}

export function overlapSection(h: HistoryData): Html {
  if (h.top.length < 2)
    return section('overlap', 'Overlap', 'Fewer than two audiences have members: nothing overlaps.', []);
  return section(
    'overlap',
    'Overlap between audiences',
    `Members each pair of the ${h.top.length} largest audiences share; the diagonal is the audience's own size.`,
    chart(overlapChart(h.top, h.overlap), 'Shared members'),
  );
}

function figureCell(p: PeriodMetrics, f: keyof PeriodMetrics): Html {
  return num(p[f] as number | null, COUNT_FIGURES.has(f) ? 0 : 2, { metric: f, period: p.period_start });
}

export function retentionSection(m: MetricsReport, warnings: string[]): Html {
  const labels = m.periods.map((p) => periodLabel(m.period, p.period_start));
  const rows = METRIC_FIGURES.map(
    (f) => html`<tr><th>${f}</th>${m.periods.map((p) => figureCell(p, f))}</tr>`,
  );
  return section(
    'retention',
    'Retention metrics',
    `Per ${m.period} (S, E], active window ${m.active_window_days} days, lifespan ${m.lifespan_years} years: the figures of retarget metrics (definitions: docs/metrics.md).`,
    [
      chart(
        periodChart(m.periods, labels, ['crr_pct', 'conversion_pct'], 'Retention and conversion'),
        'crr_pct and conversion_pct per period',
      ),
      table(['', ...labels], rows),
      warningList(warnings),
    ],
  );
}

export function cartSection(m: MetricsReport): Html {
  const labels = m.periods.map((p) => periodLabel(m.period, p.period_start));
  const rows = m.periods.map(
    (p, i) => html`<tr><td>${labels[i]}</td>${figureCell(p, 'cart_abandonment_pct')}</tr>`,
  );
  return section(
    'carts',
    'Cart abandonment',
    'Carts (a person and a day with an add_to_cart) not followed by a purchase within 7 days, per period.',
    [
      chart(
        periodChart(m.periods, labels, ['cart_abandonment_pct'], 'Cart abandonment'),
        'cart_abandonment_pct',
      ),
      table(['period', 'cart_abandonment_pct'], rows),
    ],
  );
}

export function runsSection(runs: RunRow[], syncs: SyncRow[]): Html {
  if (runs.length === 0) return section('runs', 'Last runs', 'No run recorded yet.', []);
  const runRows = runs.map(
    (r) =>
      html`<tr><td>${r.run_id}</td><td>${runLabel(r.as_of)}</td><td class="${r.status === 'succeeded' ? '' : 'bad'}">${r.status}</td>${num(r.seconds, 1, { metric: 'seconds', run: r.run_id })}<td>${r.trigger ?? ''}</td><td class="text">${errorText(r.error)}</td></tr>`,
  );
  const syncRows = syncs.map(
    (s) =>
      html`<tr><td>${s.run_id}</td><td>${s.destination}</td>${[
        num(s.audiences, 0, { metric: 'audiences', run: s.run_id, destination: s.destination }),
        num(s.adds, 0, { metric: 'adds', run: s.run_id, destination: s.destination }),
        num(s.removes, 0, { metric: 'removes', run: s.run_id, destination: s.destination }),
        num(s.invalid_entries, 0, { metric: 'invalid_entries', run: s.run_id, destination: s.destination }),
        num(s.held, 0, { metric: 'held', run: s.run_id, destination: s.destination }),
        num(s.failed, 0, { metric: 'failed', run: s.run_id, destination: s.destination }),
      ]}<td class="text">${errorText(s.error)}</td></tr>`,
  );
  return section(
    'runs',
    'Last runs',
    `The last ${runs.length} runs, newest first, and what each sent to each destination (audiences synced, members added and removed, identifiers rejected, audiences held by the shrink guard or failed).`,
    [
      table(['run', 'as of', 'status', 'seconds', 'trigger', 'error'], runRows),
      syncs.length
        ? table(
            ['run', 'destination', 'audiences', 'adds', 'removes', 'invalid', 'held', 'failed', 'error'],
            syncRows,
          )
        : html`<p class="empty">These runs synced no destination.</p>`,
    ],
    true,
  );
}

/** A stored error, redacted again (no PII or secret in a file people pass around) and kept short. */
function errorText(error: string | null): string {
  if (!error) return '';
  const text = redact(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function warningList(warnings: string[]): Html {
  return warnings.length
    ? html`<ul class="warnings">${warnings.map((w) => html`<li>${w}</li>`)}</ul>`
    : html``;
}
