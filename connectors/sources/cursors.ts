import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * Incremental cursors of every source, in one table (source_cursors, migration 0017): a source names its cursor
 * by a key of its own (GA4: `<property id>/<report>`). Values must sort in their order (ISO dates do).
 */
export async function readCursor(wh: Warehouse, source: string, key: string): Promise<string | null> {
  const row = await wh.one<{ value: string }>(
    'SELECT value FROM source_cursors WHERE source = $1 AND cursor_key = $2',
    [source, key],
  );
  return row?.value ?? null;
}

/** Records progress; never moves backwards (re-reading an older chunk keeps the later mark). */
export async function advanceCursor(
  wh: Warehouse,
  source: string,
  key: string,
  value: string,
  runId: string,
): Promise<void> {
  await wh.run(
    `INSERT INTO source_cursors (source, cursor_key, value, updated_at, run_id)
     VALUES ($1, $2, $3, now()::TIMESTAMP, $4)
     ON CONFLICT (source, cursor_key) DO UPDATE SET
       value = greatest(source_cursors.value, excluded.value),
       updated_at = excluded.updated_at, run_id = excluded.run_id`,
    [source, key, value, runId],
  );
}
