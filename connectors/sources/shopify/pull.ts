import { IngestError, type IngestResult, ingestRelation } from '../../../warehouse/ingest.ts';
import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { LoadSummary, SourceLoadContext } from '../contract.ts';
import { advanceCursor, readCursor } from '../cursors.ts';
import { scratchDir } from '../scratch.ts';
import { type BulkResult, runBulkQuery, SHOPIFY_DOWNLOADS } from './bulk.ts';
import type { ShopifyApi } from './client.ts';
import type { ShopifyConfig } from './config.ts';
import { bulkQuery, gidTail, SCANNED, type ShopifyObject } from './objects.ts';
import { SHOPIFY_SOURCE, skippedSql, tableLoads } from './tables.ts';

/**
 * One object's incremental pull: a bulk query for what changed since the cursor (less the overlap), its JSONL
 * result read by DuckDB into a temp table, each target table loaded through ingestRelation, the cursor advanced
 * in the transaction of the last one. A run killed anywhere re-reads from the last committed cursor: every load
 * is an idempotent upsert (or replaces what it restates), so nothing is lost or counted twice.
 */

export interface ObjectPull {
  object: string;
  /** The updated_at the query started from (null: everything, a first pull). */
  since: string | null;
  /** The cursor after the pull: the newest updated_at loaded. */
  cursor: string | null;
  objects: number;
  bytes: number;
  /** Milliseconds Shopify ran the bulk operation, the download took, and the load into DuckDB took. */
  waitMs: number;
  downloadMs: number;
  loadMs: number;
  loads: LoadSummary[];
  /** Lines left out on purpose (line items of no product, checkouts without a customer). */
  skipped: number;
}

let stageCounter = 0;

export const cursorKey = (config: ShopifyConfig, object: string) => `${config.shop}/${object}`;

/** The ISO time `minutes` before `iso`, in the cursor's format. */
export function minus(iso: string, minutes: number): string {
  return isoSecond(new Date(Date.parse(iso) - minutes * 60_000));
}

const isoSecond = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function pullObject(
  wh: Warehouse,
  api: ShopifyApi,
  config: ShopifyConfig,
  object: ShopifyObject,
  ctx: SourceLoadContext,
): Promise<ObjectPull> {
  const key = cursorKey(config, object.name);
  const last = await readCursor(wh, SHOPIFY_SOURCE, key);
  const since = last ? minus(last, config.overlapMinutes) : null;
  ctx.log(`Shopify ${object.name}: ${since ? `changed since ${since}` : 'first pull, everything'}`);
  const result: ObjectPull = {
    object: object.name,
    since,
    cursor: last,
    objects: 0,
    bytes: 0,
    waitMs: 0,
    downloadMs: 0,
    loadMs: 0,
    loads: [],
    skipped: 0,
  };
  const query = bulkQuery(object, since);
  const bulk = await runBulkQuery(
    api,
    config,
    object.name,
    query,
    ctx.log,
    scratchDir(wh, SHOPIFY_DOWNLOADS),
  );
  try {
    result.objects = bulk.objectCount;
    result.bytes = bulk.bytes;
    result.waitMs = bulk.waitMs;
    result.downloadMs = bulk.downloadMs;
    if (!bulk.file) return result;
    const started = Date.now();
    await ctx.checkpoint(`load:shopify_${object.name}`);
    const stage = await stageLines(wh, object, bulk);
    try {
      const skipped = skippedSql(object.name, stage);
      if (skipped) result.skipped = await wh.scalar(skipped);
      result.loads = await loadTables(wh, config, object, stage, ctx);
      result.cursor = (await readCursor(wh, SHOPIFY_SOURCE, key)) ?? null;
      result.loadMs = Date.now() - started;
    } finally {
      await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(stage)}`);
    }
  } finally {
    bulk.dispose();
  }
  return result;
}

/**
 * Loads the staged lines into each of the object's tables; the last table's transaction also records the ids
 * (customers, orders) and advances the cursor to the newest updatedAt staged.
 */
async function loadTables(
  wh: Warehouse,
  config: ShopifyConfig,
  object: ShopifyObject,
  stage: string,
  ctx: SourceLoadContext,
): Promise<LoadSummary[]> {
  const newest = await wh.one<{ at: string | null }>(
    `SELECT strftime(max(TRY_CAST(updatedAt AS TIMESTAMPTZ))::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ') AS at
     FROM ${sqlIdent(stage)} WHERE __parentId IS NULL`,
  );
  const loads = tableLoads(object.name, stage);
  const summaries: LoadSummary[] = [];
  for (const [i, load] of loads.entries()) {
    const isLast = i === loads.length - 1;
    const loaded = await ingestRelation(wh, {
      table: load.table,
      relationSql: load.relationSql,
      runId: ctx.runId,
      source: `${SHOPIFY_SOURCE}:${object.name}`,
      maxRejectShare: config.maxRejectShare,
      replace: load.replace ? { where: load.replace } : undefined,
      beforeCommit: isLast
        ? async () => {
            await recordIds(wh, object, stage);
            if (newest?.at)
              await advanceCursor(wh, SHOPIFY_SOURCE, cursorKey(config, object.name), newest.at, ctx.runId);
            await ctx.checkpoint(`commit:shopify_${object.name}`);
          }
        : undefined,
    }).catch((err: unknown) => {
      if (err instanceof IngestError)
        throw new IngestError(`Shopify ${object.name}: ${err.message}`, err.result);
      throw err;
    });
    summaries.push(summary(loaded, object.name));
  }
  return summaries;
}

/**
 * The JSONL result as a temp table, one row per line numbered in file order (children in any order), with the
 * numeric tails of its id and parent id (`_id`, `_parent`) computed once.
 */
async function stageLines(wh: Warehouse, object: ShopifyObject, bulk: BulkResult): Promise<string> {
  const stage = `shopify_${object.name}_${process.pid}_${++stageCounter}`;
  const columns = Object.entries(object.columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ');
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(stage)} AS
     SELECT *, row_number() OVER () AS line_no, ${gidTail('id')} AS _id, ${gidTail('__parentId')} AS _parent
     FROM read_json(${sqlString(bulk.file ?? '')}, format = 'newline_delimited', columns = {${columns}})`,
  );
  return stage;
}

/**
 * Remembers which customers and orders came from Shopify (what the deletion scan may remove), as SHA-256 hashes of
 * their ids: an erased person's id leaves no raw trace here (erasure keeps hashes only, too).
 */
async function recordIds(wh: Warehouse, object: ShopifyObject, stage: string): Promise<void> {
  if (!SCANNED.includes(object.name)) return;
  const table = object.name === 'customers' ? 'customers' : 'orders';
  const key = object.name === 'customers' ? 'customer_id' : 'order_id';
  await wh.run(
    `INSERT INTO shopify_records (object, id)
     SELECT DISTINCT $1, sha256(_id) FROM ${sqlIdent(stage)}
     WHERE __parentId IS NULL AND _id IN (SELECT ${key} FROM ${table})
     ON CONFLICT DO NOTHING`,
    [object.name],
  );
}

/** A table loaded from another object is labelled with it, as `order_items (shopify orders)`. */
function summary(r: IngestResult, object: string): LoadSummary {
  return {
    table: r.table === object ? r.table : `${r.table} (shopify ${object})`,
    files: 0,
    filesSkipped: 0,
    rowsRead: r.rowsRead,
    rowsLoaded: r.rowsLoaded,
    rowsRejected: r.rowsRejected,
  };
}
