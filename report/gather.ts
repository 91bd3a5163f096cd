import { sqlList } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * What the report draws, read with set-based SQL from the history tables (audience_snapshots, the membership
 * history, pipeline_runs, destination_syncs). Counts only: no customer id or other personal data leaves here.
 * Everything is as of T: runs, snapshots and memberships after it are not read.
 */

/** Audiences drawn in the size chart and the overlap matrix (the largest ones when there are more). */
export const TOP_AUDIENCES = 10;
/** Runs kept in the history charts and in the runs table. */
export const HISTORY_RUNS = 60;
export const LAST_RUNS = 10;

export interface SnapshotRow {
  run_id: string;
  as_of: Date;
  audience: string;
  members: number;
  entered: number;
  exited: number;
}

export interface OverlapRow {
  a: string;
  b: string;
  shared: number;
}

export interface RunRow {
  run_id: string;
  as_of: Date;
  started_at: Date;
  seconds: number | null;
  status: string;
  trigger: string | null;
  error: string | null;
}

export interface SyncRow {
  run_id: string;
  destination: string;
  audiences: number;
  adds: number;
  removes: number;
  invalid_entries: number;
  held: number;
  failed: number;
  error: string | null;
}

export interface HistoryData {
  /** Snapshots of the last runs as of T, oldest first, for every audience of the latest one. */
  snapshots: SnapshotRow[];
  /** The largest audiences as of T (members in the latest snapshot), largest first. */
  top: string[];
  /** Members shared by each pair of top audiences as of T (a = b: the audience's size). */
  overlap: OverlapRow[];
  runs: RunRow[];
  syncs: SyncRow[];
}

/** DuckDB hands counts back as bigint: numbers for the charts and the JSON-like tables. */
function plain<T>(rows: Record<string, unknown>[]): T[] {
  return rows.map(
    (r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])) as T,
  );
}

export async function gatherHistory(wh: Warehouse, asOf: Date): Promise<HistoryData> {
  const snapshots = plain<SnapshotRow>(
    await wh.all(
      `WITH runs AS (
         SELECT DISTINCT run_id, as_of FROM audience_snapshots WHERE as_of <= $1
         ORDER BY as_of DESC LIMIT ${HISTORY_RUNS})
       SELECT s.run_id, s.as_of, s.audience, s.members, s.entered, s.exited
       FROM audience_snapshots s JOIN runs USING (run_id)
       ORDER BY s.as_of, s.audience`,
      [asOf],
    ),
  );
  const last = snapshots.at(-1)?.run_id;
  const top = snapshots
    .filter((s) => s.run_id === last && s.members > 0)
    .sort((x, y) => y.members - x.members || x.audience.localeCompare(y.audience))
    .slice(0, TOP_AUDIENCES)
    .map((s) => s.audience);
  return {
    snapshots,
    top,
    overlap: await gatherOverlap(wh, asOf, top),
    runs: await gatherRuns(wh, asOf),
    syncs: await gatherSyncs(wh, asOf),
  };
}

/**
 * Pairs of audiences sharing members, from the real membership at T (history rows open at T). Each member's
 * top audiences become one bit mask, so the work is one pass over the members and a join of at most 2^10 masks,
 * not a self-join of every membership.
 */
async function gatherOverlap(wh: Warehouse, asOf: Date, top: string[]): Promise<OverlapRow[]> {
  if (top.length === 0) return [];
  return plain<OverlapRow>(
    await wh.all(
      `WITH tops AS (
         SELECT unnest(l) AS audience, generate_subscripts(l, 1) - 1 AS bit FROM (SELECT ${sqlList(top)} AS l)),
       masks AS (
         SELECT mask, count(*) AS members FROM (
           SELECT h.customer_id, bit_or(1::BIGINT << t.bit) AS mask
           FROM audience_membership_history h JOIN tops t ON t.audience = h.audience
           WHERE h.entered_at <= $1 AND (h.exited_at IS NULL OR h.exited_at > $1)
           GROUP BY h.customer_id)
         GROUP BY mask)
       SELECT x.audience AS a, y.audience AS b, sum(m.members) AS shared
       FROM masks m JOIN tops x ON (m.mask >> x.bit) & 1 = 1 JOIN tops y ON (m.mask >> y.bit) & 1 = 1
       GROUP BY ALL`,
      [asOf],
    ),
  );
}

async function gatherRuns(wh: Warehouse, asOf: Date): Promise<RunRow[]> {
  return plain<RunRow>(
    await wh.all(
      `SELECT run_id, as_of, started_at, date_diff('millisecond', started_at, finished_at) / 1000 AS seconds,
              status, trigger, error
       FROM pipeline_runs WHERE as_of <= $1 ORDER BY started_at DESC LIMIT ${LAST_RUNS}`,
      [asOf],
    ),
  );
}

/** Per run and destination: audiences synced, members added and removed, audiences held or failed, an error. */
async function gatherSyncs(wh: Warehouse, asOf: Date): Promise<SyncRow[]> {
  return plain<SyncRow>(
    await wh.all(
      `WITH runs AS (
         SELECT run_id, started_at AS run_started FROM pipeline_runs WHERE as_of <= $1
         ORDER BY started_at DESC LIMIT ${LAST_RUNS})
       SELECT run_id, destination, count(*) AS audiences, sum(adds) AS adds, sum(removes) AS removes,
              sum(invalid_entries) AS invalid_entries, count(*) FILTER (WHERE status = 'held') AS held,
              count(*) FILTER (WHERE status IN ('failed', 'interrupted')) AS failed,
              min(error) FILTER (WHERE error IS NOT NULL) AS error
       FROM destination_syncs JOIN runs USING (run_id)
       GROUP BY run_id, run_started, destination ORDER BY run_started DESC, destination`,
      [asOf],
    ),
  );
}
