import { sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { deleteStoreRecords } from '../store-records.ts';
import { ChunkFile } from './chunks.ts';
import type { EcwidClient } from './client.ts';
import type { EcwidConfig } from './config.ts';
import type { EcwidPullOptions } from './pull.ts';
import { ObjectCursor } from './windows.ts';

/**
 * What the store deleted since the last pull (`/orders/deleted`, `/customers/deleted`), removed from the raw
 * tables in one transaction with the cursor. For orders Ecwid reports the order number, which is the orders key.
 * Ecwid keeps this history for 6 months only: a longer gap is reported, as deletions older than that are lost.
 */

export interface DeletionReport {
  object: 'orders' | 'customers';
  /** Ids the store reported deleted in the window. */
  reported: number;
  /** Rows removed here (orders or customers) and their dependents (lines, versions). */
  deleted: number;
  dependents: number;
}

/** Ecwid's deleted-items retention. */
const RETENTION_DAYS = 180;

export async function pullDeletions(
  wh: Warehouse,
  client: EcwidClient,
  object: 'orders' | 'customers',
  config: EcwidConfig,
  options: EcwidPullOptions,
  dir: string,
  warnings: string[],
): Promise<DeletionReport> {
  const cursor = new ObjectCursor(wh, `${config.storeId}/${object}/deleted`, options.runId);
  const last = await cursor.lastEnd();
  const days = last ? (options.now.getTime() - Date.parse(last)) / 86_400_000 : 0;
  if (days > RETENTION_DAYS)
    warnings.push(
      `Ecwid store ${config.storeId}: ${object} deletions were last pulled ${Math.floor(days)} days ago; Ecwid keeps ` +
        `deletions for 6 months, so ${object} deleted before then may remain here (docs/ecwid.md, "Deletions")`,
    );
  const window = await cursor.window(options.now, config.overlapMinutes * 60);
  const chunk = ChunkFile.in(dir, `${object}-deleted`, 0);
  try {
    for (let offset = 0; ; ) {
      const page = await client.page<{ id: unknown }>(
        `${object}/deleted`,
        { from_date: window.from, to_date: window.to },
        offset,
      );
      chunk.append(page.items.map((i) => ({ id: String(i.id) })));
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) break;
    }
    const ids = `SELECT id FROM read_json(${sqlString(chunk.file)}, format = 'newline_delimited', columns = {'id': 'VARCHAR'})`;
    return await wh.transaction(async () => {
      const removed =
        chunk.items > 0 ? await deleteStoreRecords(wh, object, { sql: ids }) : { deleted: 0, dependents: 0 };
      await options.checkpoint(`commit:ecwid/${object}/deleted`);
      await cursor.committed(window, chunk.items, true);
      return { object, reported: chunk.items, deleted: removed.deleted, dependents: removed.dependents };
    });
  } finally {
    chunk.remove();
  }
}
