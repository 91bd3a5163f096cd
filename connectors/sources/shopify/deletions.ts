import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { SourceLoadContext } from '../contract.ts';
import { advanceCursor, readCursor } from '../cursors.ts';
import { scratchDir } from '../scratch.ts';
import { deleteStoreRecords, type StoreTable } from '../store-records.ts';
import { runBulkQuery, SHOPIFY_DOWNLOADS } from './bulk.ts';
import type { ShopifyApi } from './client.ts';
import type { ShopifyConfig } from './config.ts';
import { gidTail, idScanQuery, type ShopifyObject } from './objects.ts';
import { cursorKey } from './pull.ts';
import { SHOPIFY_SOURCE } from './tables.ts';

/**
 * Deletions by a full id scan: a cheap bulk query lists every id Shopify still has; the customers and orders the
 * source loaded (shopify_records, by id hash) that it no longer lists were deleted in Shopify and are removed. A scan that
 * would remove more than maxDeletionShare of what was loaded (and more than a handful) is not trusted (an app
 * without read_all_orders sees only 60 days of orders): nothing is removed and the run warns.
 */

export interface DeletionScan {
  object: string;
  scanned: number;
  deleted: number;
  dependents: number;
  /** Set when the scan was not applied. */
  refused?: string;
}

/** Removals below this many rows are never refused, whatever their share (a small shop deleting a few). */
const ALWAYS_TRUSTED = 10;

let scanCounter = 0;

/** True when the object's last scan is older than deletionScanHours (0: every run). */
export async function scanDue(
  wh: Warehouse,
  config: ShopifyConfig,
  object: ShopifyObject,
  asOf: Date,
): Promise<boolean> {
  const last = await readCursor(wh, SHOPIFY_SOURCE, `${cursorKey(config, object.name)}:scanned`);
  return !last || asOf.getTime() - Date.parse(last) >= config.deletionScanHours * 3_600_000;
}

export async function scanDeletions(
  wh: Warehouse,
  api: ShopifyApi,
  config: ShopifyConfig,
  object: ShopifyObject,
  ctx: SourceLoadContext,
): Promise<DeletionScan> {
  const table: StoreTable = object.name === 'customers' ? 'customers' : 'orders';
  const key = table === 'customers' ? 'customer_id' : 'order_id';
  const query = idScanQuery(object);
  const bulk = await runBulkQuery(
    api,
    config,
    `${object.name} ids`,
    query,
    ctx.log,
    scratchDir(wh, SHOPIFY_DOWNLOADS),
  );
  const ids = `shopify_ids_${process.pid}_${++scanCounter}`;
  try {
    const read = bulk.file
      ? `SELECT DISTINCT sha256(${gidTail('id')}) AS id FROM read_json(${sqlString(bulk.file)}, format = 'newline_delimited', columns = {'id': 'VARCHAR'})`
      : 'SELECT NULL::VARCHAR AS id WHERE false';
    await wh.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(ids)} AS ${read}`);
    // Ids whose rows are gone already (erased, or removed by another run) need no scan.
    await wh.run(
      `DELETE FROM shopify_records WHERE object = $1 AND id NOT IN (SELECT sha256(${key}) FROM ${table})`,
      [object.name],
    );
    const gone = `SELECT id FROM shopify_records WHERE object = ${sqlString(object.name)}
                  AND id NOT IN (SELECT id FROM ${sqlIdent(ids)})`;
    const scanned = await wh.scalar(`SELECT count(*) FROM ${sqlIdent(ids)}`);
    const missing = await wh.scalar(`SELECT count(*) FROM (${gone})`);
    const known = await wh.scalar('SELECT count(*) FROM shopify_records WHERE object = $1', [object.name]);
    const result: DeletionScan = { object: object.name, scanned, deleted: 0, dependents: 0 };
    if (missing > ALWAYS_TRUSTED && missing > config.maxDeletionShare * known) {
      result.refused =
        `Shopify ${object.name}: the id scan lists ${scanned} but ${missing} of the ${known} loaded are missing ` +
        `(more than sources.shopify.maxDeletionShare ${config.maxDeletionShare}); nothing was removed. ` +
        `Check the app's scopes (orders older than 60 days need read_all_orders) or raise maxDeletionShare`;
      return result;
    }
    await wh.transaction(async () => {
      const removed = await deleteStoreRecords(wh, table, {
        sql: `SELECT ${key} FROM ${table} WHERE sha256(${key}) IN (${gone})`,
      });
      await wh.run(
        `DELETE FROM shopify_records WHERE object = $1 AND id NOT IN (SELECT id FROM ${sqlIdent(ids)})`,
        [object.name],
      );
      await advanceCursor(
        wh,
        SHOPIFY_SOURCE,
        `${cursorKey(config, object.name)}:scanned`,
        ctx.asOf.toISOString(),
        ctx.runId,
      );
      result.deleted = removed.deleted;
      result.dependents = removed.dependents;
    });
    return result;
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(ids)}`);
    bulk.dispose();
  }
}
