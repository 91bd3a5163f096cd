import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { advanceCursor, readCursor } from '../cursors.ts';

/** Data API progress per property and report: the last day pulled, a cursor of the shared source_cursors table. */
const cursorKey = (propertyId: string, report: string) => `${propertyId}/${report}`;

export function pulledThrough(wh: Warehouse, propertyId: string, report: string): Promise<string | null> {
  return readCursor(wh, 'ga4', cursorKey(propertyId, report));
}

/** Records that `day` (YYYY-MM-DD) was pulled; never moves backwards. */
export async function markPulled(
  wh: Warehouse,
  propertyId: string,
  report: string,
  day: string,
  runId: string,
): Promise<void> {
  await advanceCursor(wh, 'ga4', cursorKey(propertyId, report), day, runId);
}
