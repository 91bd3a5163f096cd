import type { Database } from '../../warehouse/schema.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { audiencesTable, table } from '../cli/format.ts';
import { formatGoogleAdsRequests, type GoogleAdsRequestSummary, googleAdsRequests } from './run-requests.ts';

/**
 * Run history: finding runs a dead process left 'running', and reading runs back for `retarget runs`.
 */

/**
 * Marks runs (and their steps) still 'running' as 'abandoned'. Only call it while holding the database's lock:
 * then no live process can own such a run, so it was killed (SIGKILL, power loss) or crashed.
 */
export async function markAbandonedRuns(wh: Warehouse, detectedBy: string): Promise<string[]> {
  const rows = await wh.all<{ run_id: string }>(
    `SELECT run_id FROM pipeline_runs WHERE status = 'running' AND run_id <> $1 ORDER BY started_at`,
    [detectedBy],
  );
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.run_id);
  await wh.transaction(async () => {
    await wh.run(
      `UPDATE pipeline_steps SET status = 'abandoned'
       WHERE status = 'running' AND run_id IN (SELECT run_id FROM pipeline_runs WHERE status = 'running' AND run_id <> $1)`,
      [detectedBy],
    );
    await wh.run(
      `UPDATE pipeline_runs SET status = 'abandoned',
         error = 'the process ended without finishing (killed or crashed); found by run ' || $1
       WHERE status = 'running' AND run_id <> $1`,
      [detectedBy],
    );
  });
  return ids;
}

export type RunRow = Database['pipeline_runs'] & {
  seconds: number | null;
  rows_rejected: number;
};

export async function listRuns(wh: Warehouse, limit = 20): Promise<RunRow[]> {
  const rows = await wh.all<Omit<RunRow, 'seconds' | 'rows_rejected'> & { ms: bigint | null; rej: bigint }>(
    `SELECT r.*, date_diff('millisecond', r.started_at, r.finished_at) AS ms,
            (SELECT count(*) FROM rejected_rows x WHERE x.run_id = r.run_id) AS rej
     FROM pipeline_runs r ORDER BY r.started_at DESC, r.run_id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(({ ms, rej, ...r }) => ({
    ...r,
    seconds: ms === null ? null : Number(ms) / 1000,
    rows_rejected: Number(rej),
  }));
}

export interface RunDetail {
  run: RunRow;
  steps: Array<{
    step: string;
    status: string;
    started_at: Date;
    finished_at: Date | null;
    seconds: number | null;
    rows_in: number | null;
    rows_out: number | null;
    error: string | null;
  }>;
  rejected: Array<{ table: string; reason: string; rows: number }>;
  /** Rows per table of each source load (its LoadSummary rows), e.g. per Ecwid object. */
  loads: Array<{
    step: string;
    table: string;
    rows_read: number;
    rows_loaded: number;
    rows_rejected: number;
  }>;
  syncs: Array<{
    destination: string;
    audience: string;
    status: string;
    adds: number;
    removes: number;
    invalid_entries: number;
    error: string | null;
  }>;
  audiences: Array<{ audience: string; members: number; entered: number; exited: number }>;
  /** Omitted when the run sent no Google Ads request. */
  google_ads_requests?: GoogleAdsRequestSummary[];
}

/** One run by id, 'last', or a unique id prefix. */
export async function showRun(wh: Warehouse, ref: string): Promise<RunDetail | undefined> {
  const matches = await wh.all<{ run_id: string }>(
    ref === 'last' || ref === 'latest'
      ? 'SELECT run_id FROM pipeline_runs ORDER BY started_at DESC, run_id DESC LIMIT 1'
      : 'SELECT run_id FROM pipeline_runs WHERE starts_with(run_id, $1) ORDER BY run_id LIMIT 2',
    ref === 'last' || ref === 'latest' ? [] : [ref],
  );
  const exact = matches.find((m) => m.run_id === ref);
  if (!exact && matches.length !== 1) return undefined;
  const runId = (exact ?? matches[0]!).run_id;
  const run = (
    await wh.all<Omit<RunRow, 'seconds' | 'rows_rejected'> & { ms: bigint | null; rej: bigint }>(
      `SELECT r.*, date_diff('millisecond', r.started_at, r.finished_at) AS ms,
              (SELECT count(*) FROM rejected_rows x WHERE x.run_id = r.run_id) AS rej
       FROM pipeline_runs r WHERE run_id = $1`,
      [runId],
    )
  ).map(({ ms, rej, ...r }) => ({
    ...r,
    seconds: ms === null ? null : Number(ms) / 1000,
    rows_rejected: Number(rej),
  }))[0]!;
  const steps = await wh.all<{
    step: string;
    status: string;
    started_at: Date;
    finished_at: Date | null;
    ms: bigint | null;
    rows_in: bigint | null;
    rows_out: bigint | null;
    error: string | null;
  }>(
    `SELECT step, status, started_at, finished_at, date_diff('millisecond', started_at, finished_at) AS ms,
            rows_in, rows_out,
            CASE WHEN status <> 'succeeded' THEN try(json_extract_string(detail, '$.error')) END AS error
     FROM pipeline_steps WHERE run_id = $1 ORDER BY started_at, step`,
    [runId],
  );
  // Reasons carry the offending value after a colon ("unparseable ordered_at: 31/02"): group by the kind.
  const rejected = await wh.all<{ table: string; reason: string; rows: bigint }>(
    `SELECT table_name AS "table", split_part(reason, ':', 1) AS reason, count(*) AS rows
     FROM rejected_rows WHERE run_id = $1 GROUP BY ALL ORDER BY rows DESC, "table", reason`,
    [runId],
  );
  const syncs = await wh.all<{
    destination: string;
    audience: string;
    status: string;
    adds: bigint;
    removes: bigint;
    invalid_entries: bigint;
    error: string | null;
  }>(
    `SELECT destination, audience, status, adds, removes, invalid_entries, error
     FROM destination_syncs WHERE run_id = $1 ORDER BY destination, audience`,
    [runId],
  );
  const audiences = await wh.all<{ audience: string; members: bigint; entered: bigint; exited: bigint }>(
    'SELECT audience, members, entered, exited FROM audience_snapshots WHERE run_id = $1 ORDER BY audience',
    [runId],
  );
  const loads = await loadSummaries(wh, runId);
  const requests = await googleAdsRequests(wh, runId);
  const num = (v: bigint | null) => (v === null ? null : Number(v));
  return {
    run,
    steps: steps.map(({ ms, rows_in, rows_out, ...s }) => ({
      ...s,
      seconds: ms === null ? null : Number(ms) / 1000,
      rows_in: num(rows_in),
      rows_out: num(rows_out),
    })),
    rejected: rejected.map((r) => ({ ...r, rows: Number(r.rows) })),
    loads,
    syncs: syncs.map((s) => ({
      ...s,
      adds: Number(s.adds),
      removes: Number(s.removes),
      invalid_entries: Number(s.invalid_entries),
    })),
    audiences: audiences.map((a) => ({
      audience: a.audience,
      members: Number(a.members),
      entered: Number(a.entered),
      exited: Number(a.exited),
    })),
    ...(requests.length ? { google_ads_requests: requests } : {}),
  };
}

const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');
const secs = (s: number | null) => (s === null ? '-' : `${s.toFixed(1)}s`);

export function formatRunList(runs: RunRow[]): string {
  if (runs.length === 0) return 'No runs yet.';
  const rows = runs.map((r) => [
    r.run_id,
    r.status,
    iso(r.started_at),
    secs(r.seconds),
    iso(r.as_of),
    r.trigger ?? '',
    Number(r.rows_rejected),
    r.error ? oneLine(r.error, 60) : '',
  ]);
  return table(['run', 'status', 'started', 'took', 'as of', 'trigger', 'rejected', 'error'], rows);
}

export function formatRunDetail(d: RunDetail): string {
  const r = d.run;
  const out = [
    `Run ${r.run_id}: ${r.status}`,
    `  started ${iso(r.started_at)}, finished ${iso(r.finished_at)} (${secs(r.seconds)}), as of ${iso(r.as_of)}, trigger ${r.trigger ?? '-'}`,
  ];
  if (r.error) out.push(`  error: ${r.error}`);
  out.push(
    '',
    'Steps',
    table(
      ['step', 'status', 'started', 'took', 'rows in', 'rows out', 'error'],
      d.steps.map((s) => [
        s.step,
        s.status,
        iso(s.started_at),
        secs(s.seconds),
        s.rows_in === null ? '' : Number(s.rows_in),
        s.rows_out === null ? '' : Number(s.rows_out),
        s.error ? oneLine(s.error, 80) : '',
      ]),
    ),
  );
  if (d.loads.length)
    out.push(
      '',
      'Loaded',
      table(
        ['step', 'table', 'read', 'loaded', 'rejected'],
        d.loads.map((l) => [l.step, l.table, l.rows_read, l.rows_loaded, l.rows_rejected]),
      ),
    );
  out.push('', `Rejected rows: ${r.rows_rejected}`);
  if (d.rejected.length) {
    out.push(
      table(
        ['table', 'reason', 'rows'],
        d.rejected.map((x) => [x.table, x.reason, Number(x.rows)]),
      ),
      `  See: SELECT table_name, reason, raw, source FROM rejected_rows WHERE run_id = '${r.run_id}'`,
    );
  }
  if (d.audiences.length) out.push('', 'Audiences', audiencesTable(d.audiences));
  out.push('', d.syncs.length ? 'Syncs' : 'Syncs: none recorded');
  if (d.syncs.length) {
    out.push(
      table(
        ['destination', 'audience', 'status', 'adds', 'removes', 'invalid', 'error'],
        d.syncs.map((s) => [
          s.destination,
          s.audience,
          s.status,
          Number(s.adds),
          Number(s.removes),
          Number(s.invalid_entries),
          s.error ? oneLine(s.error, 60) : '',
        ]),
      ),
    );
  }
  out.push(...formatGoogleAdsRequests(d.google_ads_requests ?? []));
  return out.join('\n');
}

/**
 * The LoadSummary rows each succeeded load step stored: its detail's `loads`, or the detail itself when it is the
 * list (files). Steps whose detail has neither show none.
 */
async function loadSummaries(wh: Warehouse, runId: string): Promise<RunDetail['loads']> {
  const rows = await wh.all<{ step: string; loads: string | null }>(
    `SELECT step, CAST(CASE WHEN json_type(detail) = 'ARRAY' THEN detail::JSON ELSE json_extract(detail, '$.loads') END AS VARCHAR) AS loads
     FROM pipeline_steps
     WHERE run_id = $1 AND starts_with(step, 'load:') AND status = 'succeeded' AND try(json_valid(detail))
     ORDER BY started_at, step`,
    [runId],
  );
  return rows.flatMap(({ step, loads }) => {
    const list: unknown = loads ? JSON.parse(loads) : [];
    if (!Array.isArray(list)) return [];
    return list
      .filter(
        (l): l is Record<string, unknown> => typeof l?.table === 'string' && typeof l?.rowsRead === 'number',
      )
      .map((l) => ({
        step,
        table: l.table as string,
        rows_read: Number(l.rowsRead),
        rows_loaded: Number(l.rowsLoaded ?? 0),
        rows_rejected: Number(l.rowsRejected ?? 0),
      }));
  });
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
