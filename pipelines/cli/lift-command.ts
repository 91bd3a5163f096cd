import type { RetargetConfig } from '../../config/config.ts';
import { type AudienceLift, audienceLift, type LiftReport } from '../../metrics/lift.ts';
import { UserError } from './errors.ts';
import { defaultAsOf, openForReading } from './read.ts';

/** `retarget lift`: holdout lift per audience, read-only (definitions: docs/metrics.md, "Holdouts and lift"). */

export interface LiftFlags {
  db?: string;
  asOf?: Date;
  days: number;
  json?: boolean;
}

/** Past this a window says nothing about the audience's ads (and DuckDB's interval arithmetic would overflow). */
const MAX_DAYS = 3650;

export async function liftCommand(
  config: RetargetConfig,
  audience: string | undefined,
  flags: LiftFlags,
): Promise<void> {
  if (flags.days > MAX_DAYS) throw new UserError(`--days ${flags.days}: at most ${MAX_DAYS} days`);
  const wh = await openForReading(config, flags.db);
  let report: LiftReport;
  try {
    report = await audienceLift(wh, { audience, days: flags.days, asOf: await defaultAsOf(wh, flags.asOf) });
  } finally {
    wh.close();
  }
  if (audience && report.audiences.length === 0)
    throw new UserError(
      `no audience named '${audience}' in the membership history (see \`retarget segments\`)`,
    );
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatLift(report)}\n`);
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
const pts = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}`);
const money = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);

function row(a: AudienceLift): string[] {
  return [
    a.audience,
    pct(a.holdout_share),
    `${a.exposed_purchasers}/${a.exposed_members}`,
    pct(a.exposed_rate),
    `${a.holdout_purchasers}/${a.holdout_members}`,
    pct(a.holdout_rate),
    pts(a.lift),
    a.ci_low === null ? '—' : `[${pts(a.ci_low)}, ${pts(a.ci_high)}]`,
    money(a.incremental_revenue_per_exposed),
  ];
}

const HEAD = [
  'audience',
  'held out',
  'exposed buyers',
  'rate',
  'held-out buyers',
  'rate',
  'lift (pts)',
  '95% interval',
  'revenue/exposed',
];

export function formatLift(r: LiftReport): string {
  const head = `Holdout lift as of ${r.as_of}: members who entered at least ${r.window_days} days ago, purchases within ${r.window_days} days of entering`;
  if (r.audiences.length === 0)
    return `${head}\n\nNo audience has held-out members: give a segment .holdout(share) or set holdouts in retarget.config.ts (docs/metrics.md).`;
  const rows = [HEAD, ...r.audiences.map(row)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const line = (x: string[]) =>
    x.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = r.audiences.filter((a) => a.message).map((a) => `${a.audience}: ${a.message}`);
  return [
    head,
    '',
    line(rows[0]!),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    ...(notes.length ? ['', ...notes] : []),
    '',
    'lift: exposed rate − held-out rate, in percentage points. Definitions: docs/metrics.md.',
  ].join('\n');
}
