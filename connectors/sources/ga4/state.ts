import type { Warehouse } from '../../../warehouse/warehouse.ts';

/** Data API progress per property and report: the last day pulled (ga4_sync_state, migration 0004). */
export async function pulledThrough(
  wh: Warehouse,
  propertyId: string,
  report: string,
): Promise<string | null> {
  const row = await wh.one<{ d: string }>(
    `SELECT strftime(pulled_through, '%Y-%m-%d') AS d FROM ga4_sync_state WHERE property_id = $1 AND report = $2`,
    [propertyId, report],
  );
  return row?.d ?? null;
}

/** Records that `day` was pulled; never moves backwards (a re-pulled older chunk keeps the later mark). */
export async function markPulled(
  wh: Warehouse,
  propertyId: string,
  report: string,
  day: string,
  runId: string,
): Promise<void> {
  await wh.run(
    `INSERT INTO ga4_sync_state (property_id, report, pulled_through, updated_at, run_id)
     VALUES ($1, $2, CAST($3 AS DATE), now()::TIMESTAMP, $4)
     ON CONFLICT (property_id, report) DO UPDATE SET
       pulled_through = greatest(ga4_sync_state.pulled_through, excluded.pulled_through),
       updated_at = excluded.updated_at, run_id = excluded.run_id`,
    [propertyId, report, day, runId],
  );
}
