import type { Condition, SegmentDefinition } from '../dsl/types.ts';
import { timestampLiteral } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { changedOrders, saveBasketState } from './basket-state.ts';

/**
 * Basket counts for mined complements (tables of migration 0035), kept equal to what mining every completed order
 * up to T would count. Mining two years of baskets every night costs the same whatever changed; here the stored
 * baskets are compared with today's, and only the orders whose basket differs (new, re-loaded with other lines,
 * cancelled, refunded, deleted, or beyond T) move the pair and product counts. The first run counts directly.
 */

export interface BasketRefresh {
  /** Whether every basket was counted again (empty tables: the first run, or --full-refresh). */
  recounted: boolean;
  /** Basket lines that entered (+) or left (-) the counted baskets. */
  linesAdded: number;
  linesRemoved: number;
  /** Orders whose basket changed (not counted on a recount: every basket was). */
  orders?: number;
  /**
   * Which baskets were compared with the stored ones (not on a recount): only those of orders loaded since the last
   * refresh or placed between its T and this one ('loaded'), or every one ('all': the first refresh after
   * migration 0047, or rows seen before were deleted, replaced or edited since: basket-state.ts).
   */
  compared?: 'loaded' | 'all';
}

/** Whether a segment mines complements from baskets (only then are the basket counts needed). */
export function minesBaskets(def: SegmentDefinition): boolean {
  const walk = (c: Condition): boolean => {
    if (c.kind === 'complements') return c.mined !== false;
    if (c.kind === 'all') return c.all.some(walk);
    if (c.kind === 'any') return c.any.some(walk);
    if (c.kind === 'not') return walk(c.not);
    return false;
  };
  return walk(def.where);
}

/**
 * Brings basket_lines, basket_pairs and basket_products to the completed orders placed at or before T, in one
 * transaction. Empty tables (the first run) or `full` (--full-refresh) count every basket directly; otherwise
 * only the orders whose basket changed move the counts. What the writes read is staged in temp tables first,
 * committed before the transaction (Warehouse.transaction: scale-1 recount, the lines' insert 1.85 -> 0.98 s, the
 * pairs' 3.15 -> 1.70 s, CPU 1.86 -> 1.95 s and 4.03 -> 3.39 s).
 */
export async function refreshBaskets(wh: Warehouse, asOf: Date, full = false): Promise<BasketRefresh> {
  const recounting =
    full || (await wh.scalar('SELECT count(*) FROM (SELECT 1 FROM basket_lines LIMIT 1)')) === 0;
  const changed = recounting ? undefined : await changedOrders(wh, asOf);
  try {
    if (recounting) await stageRecount(wh, asOf);
    const diff = recounting ? undefined : await stageChanges(wh, asOf, changed?.sql);
    return await wh.transaction(async () => {
      const result = diff ?? (await recount(wh));
      if (diff?.orders) await applyDeltas(wh);
      await saveBasketState(wh, asOf, changed?.seen);
      return result;
    });
  } finally {
    for (const t of ['basket_now', 'basket_diff', 'basket_pair_delta', 'basket_product_delta'])
      await wh.run(`DROP TABLE IF EXISTS ${t}`);
  }
}

/**
 * Today's basket lines: (order, product) of each completed order placed at or before T, as order_items holds them
 * (one row per key by the load's merge, not by an index: readers that count still de-duplicate).
 */
const linesAt = (asOf: Date) =>
  `SELECT o.order_id, i.product_id FROM completed_orders o JOIN order_items i ON i.order_id = o.order_id
   WHERE o.ordered_at <= ${timestampLiteral(asOf)}`;

/** basket_now: every basket line up to T, which the recount writes and counts. */
async function stageRecount(wh: Warehouse, asOf: Date): Promise<void> {
  await wh.run(`CREATE OR REPLACE TEMP TABLE basket_now AS SELECT DISTINCT * FROM (${linesAt(asOf)})`);
}

/**
 * Every count from today's baskets, one aggregate each, instead of a diff against empty tables applied by updates,
 * anti-joins and deletes that find nothing (scale 1, first night, one thread, two alternating pairs: 11.6 and
 * 13.4 s -> 8.0 and 9.8 s of CPU, the same rows). The inserts keep the tables' columns
 * (migration 0045: ids stored FSST without DuckDB's dictionary trial; scale 1, the lines' insert 2.8 -> 1.7 s), so
 * the tables are emptied, never replaced.
 */
async function recount(wh: Warehouse): Promise<BasketRefresh> {
  const linesRemoved = await wh.run('DELETE FROM basket_lines');
  for (const t of ['basket_pairs', 'basket_products']) await wh.run(`DELETE FROM ${t}`);
  const linesAdded = await wh.run('INSERT INTO basket_lines SELECT order_id, product_id FROM basket_now');
  await wh.run(
    `INSERT INTO basket_pairs
     SELECT x.product_id, y.product_id, count(*) FROM basket_now x
     JOIN basket_now y ON y.order_id = x.order_id AND x.product_id < y.product_id GROUP BY ALL`,
  );
  await wh.run('INSERT INTO basket_products SELECT product_id, count(*) FROM basket_now GROUP BY product_id');
  return { recounted: true, linesAdded, linesRemoved };
}

/**
 * The incremental run's staging: the stored baskets compared with today's (of the `changed` orders, SQL yielding
 * order_id, or of all), and the count changes of the orders whose basket differs, which applyDeltas writes.
 */
async function stageChanges(wh: Warehouse, asOf: Date, changed?: string): Promise<BasketRefresh> {
  await stageBasketDiff(wh, asOf, changed);
  const counts = await wh.one<{ added: bigint; removed: bigint; orders: bigint }>(
    `SELECT count(*) FILTER (WHERE sign = 1) AS added, count(*) FILTER (WHERE sign = -1) AS removed,
            count(DISTINCT order_id) AS orders FROM basket_diff`,
  );
  const result: BasketRefresh = {
    recounted: false,
    linesAdded: Number(counts?.added ?? 0),
    linesRemoved: Number(counts?.removed ?? 0),
    orders: Number(counts?.orders ?? 0),
    compared: changed ? 'loaded' : 'all',
  };
  if (result.orders) await stagePairDelta(wh);
  return result;
}

/**
 * basket_diff(order_id, product_id, sign): lines of today's baskets not yet counted (+1) and counted lines no
 * longer in them (-1), of the `changed` orders (SQL yielding order_id) or of all. One full outer join of two line
 * sets: the cost of reading the lines, not of pairing them. The difference is de-duplicated, not today's 4.5M lines
 * (a line held twice matches its counted line twice, both dropped, or enters twice, made one): scale-1 next night,
 * the diff 3.23-3.34 -> 2.11-2.27 s in three alternating pairs on a busy machine, the same counts as a recount.
 */
async function stageBasketDiff(wh: Warehouse, asOf: Date, changed?: string): Promise<void> {
  const only = changed ? ' AND o.order_id IN (SELECT order_id FROM changed)' : '';
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE basket_diff AS
     WITH ${changed ? `changed AS (${changed}),` : ''}
     cur AS (${linesAt(asOf)}${only}),
     counted AS (SELECT * FROM basket_lines ${changed ? 'WHERE order_id IN (SELECT order_id FROM changed)' : ''})
     SELECT DISTINCT coalesce(c.order_id, b.order_id) AS order_id, coalesce(c.product_id, b.product_id) AS product_id,
            CASE WHEN b.order_id IS NULL THEN 1 ELSE -1 END AS sign
     FROM cur c FULL JOIN counted b ON b.order_id = c.order_id AND b.product_id = c.product_id
     WHERE b.order_id IS NULL OR c.order_id IS NULL`,
  );
}

/**
 * The count changes of the touched orders: each pair of a touched order's new basket counts +1, each pair of its
 * old basket -1 (a pair in both nets 0); products move by their lines' signs.
 */
async function stagePairDelta(wh: Warehouse): Promise<void> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE basket_pair_delta AS
     WITH touched AS (SELECT DISTINCT order_id FROM basket_diff),
     old AS (SELECT l.order_id, l.product_id FROM basket_lines l SEMI JOIN touched t ON t.order_id = l.order_id),
     new AS (
       SELECT o.order_id, o.product_id FROM old o
       ANTI JOIN basket_diff d ON d.sign = -1 AND d.order_id = o.order_id AND d.product_id = o.product_id
       UNION ALL SELECT order_id, product_id FROM basket_diff WHERE sign = 1),
     pairs AS (
       SELECT x.product_id AS a, y.product_id AS b, 1 AS sign
       FROM new x JOIN new y ON y.order_id = x.order_id AND x.product_id < y.product_id
       UNION ALL
       SELECT x.product_id, y.product_id, -1
       FROM old x JOIN old y ON y.order_id = x.order_id AND x.product_id < y.product_id)
     SELECT a, b, sum(sign) AS dn FROM pairs GROUP BY a, b HAVING sum(sign) <> 0`,
  );
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE basket_product_delta AS
     SELECT product_id, sum(sign) AS dn FROM basket_diff GROUP BY product_id HAVING sum(sign) <> 0`,
  );
}

/** Applies the deltas: counts updated in place, new pairs and products inserted, counts that reach 0 dropped. */
async function applyDeltas(wh: Warehouse): Promise<void> {
  for (const [table, keys] of [
    ['basket_pairs', ['a', 'b']],
    ['basket_products', ['product_id']],
  ] as const) {
    const delta = table === 'basket_pairs' ? 'basket_pair_delta' : 'basket_product_delta';
    const on = keys.map((k) => `t.${k} = d.${k}`).join(' AND ');
    await wh.run(`UPDATE ${table} t SET n = t.n + d.dn FROM ${delta} d WHERE ${on}`);
    await wh.run(`INSERT INTO ${table} SELECT d.* FROM ${delta} d ANTI JOIN ${table} t ON ${on}`);
    await wh.run(`DELETE FROM ${table} t USING ${delta} d WHERE ${on} AND t.n <= 0`);
  }
  await wh.run(
    `DELETE FROM basket_lines l USING basket_diff d
     WHERE d.sign = -1 AND l.order_id = d.order_id AND l.product_id = d.product_id`,
  );
  await wh.run('INSERT INTO basket_lines SELECT order_id, product_id FROM basket_diff WHERE sign = 1');
}
