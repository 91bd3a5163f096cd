import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { loadSegments } from '../dsl/index.ts';
import { RAW_TABLES } from '../warehouse/table-specs.ts';
import { sqlString } from '../warehouse/values.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import type { StageResult } from './measure.ts';
import { loadStage } from './stages/load.ts';
import { segmentStages } from './stages/segments.ts';

/**
 * The real datasets in ../shared/datasets, converted to the files contract (CSV, one folder per table) in a temp
 * directory, never copied into the repository. Each gets the load and segment stages, reported separately.
 * Conversions map each dataset's own vocabulary onto GA4 event names and the order tables; where a dataset lacks
 * something the contract requires, the conversion says what it synthesised.
 */
export interface Conversion {
  name: string;
  /** Files that must exist in the dataset folder. */
  needs: string[];
  /** SQL statements creating out_<table> tables; `{dir}` is the dataset folder. */
  sql: (dir: string) => string[];
  note?: string;
}

const csv = (dir: string, file: string, extra = '') =>
  `read_csv(${sqlString(join(dir, file))}, header = true, all_varchar = true${extra})`;

export const CONVERSIONS: Conversion[] = [
  {
    name: 'taobao-userbehavior-head',
    needs: ['UserBehavior_head.clean.csv'],
    note: 'pv/cart/fav/buy -> view_item/add_to_cart/add_to_wishlist/purchase; each buy is a completed one-line order',
    sql: (dir) => [
      `CREATE TABLE src AS SELECT row_number() OVER () AS n, * FROM ${csv(dir, 'UserBehavior_head.clean.csv')}`,
      `CREATE TABLE out_events AS SELECT 'tb' || n AS event_id, 'u' || user_id AS customer_id,
         CASE behavior_type WHEN 'pv' THEN 'view_item' WHEN 'cart' THEN 'add_to_cart' WHEN 'fav' THEN 'add_to_wishlist'
           WHEN 'buy' THEN 'purchase' ELSE behavior_type END AS event_name,
         'i' || item_id AS product_id, 'cat' || category_id AS category,
         make_timestamp(timestamp::BIGINT * 1000000) AS occurred_at, 'taobao' AS source
       FROM src`,
      `CREATE TABLE out_products AS SELECT 'i' || item_id AS product_id, 'cat' || any_value(category_id) AS category
       FROM src GROUP BY item_id`,
      `CREATE TABLE out_orders AS SELECT DISTINCT 'b' || user_id || '-' || timestamp AS order_id, 'u' || user_id AS customer_id,
         make_timestamp(timestamp::BIGINT * 1000000) AS ordered_at, 'completed' AS status
       FROM src WHERE behavior_type = 'buy'`,
      `CREATE TABLE out_order_items AS SELECT 'b' || user_id || '-' || timestamp AS order_id, 'i' || item_id AS product_id,
         count(*) AS quantity FROM src WHERE behavior_type = 'buy' GROUP BY ALL`,
      `CREATE TABLE out_customers AS SELECT DISTINCT 'u' || user_id AS customer_id, true AS ads_consent FROM src`,
    ],
  },
  {
    name: 'rees46-multicategory-2019oct-head',
    needs: ['2019-Oct_head.clean.csv'],
    note: 'view/cart/purchase -> view_item/add_to_cart/purchase; purchases of a session form one completed order',
    sql: (dir) => [
      `CREATE TABLE src AS SELECT row_number() OVER () AS n, *,
         strptime(replace(event_time, ' UTC', ''), '%Y-%m-%d %H:%M:%S') AS ts FROM ${csv(dir, '2019-Oct_head.clean.csv')}`,
      `CREATE TABLE out_events AS SELECT 'r' || n AS event_id, 'u' || user_id AS customer_id, user_session AS session_id,
         CASE event_type WHEN 'view' THEN 'view_item' WHEN 'cart' THEN 'add_to_cart' WHEN 'remove_from_cart' THEN 'remove_from_cart'
           ELSE event_type END AS event_name,
         product_id, ts AS occurred_at, 'rees46' AS source
       FROM src`,
      `CREATE TABLE out_products AS SELECT product_id, coalesce(any_value(category_code), 'cat' || any_value(category_id)) AS category,
         any_value(brand) AS brand, any_value(price) AS price FROM src GROUP BY product_id`,
      `CREATE TABLE out_orders AS SELECT 's' || user_session AS order_id, 'u' || any_value(user_id) AS customer_id,
         max(ts) AS ordered_at, 'completed' AS status, sum(price::DECIMAL(18, 2)) AS total
       FROM src WHERE event_type = 'purchase' GROUP BY user_session`,
      `CREATE TABLE out_order_items AS SELECT 's' || user_session AS order_id, product_id, count(*) AS quantity,
         any_value(price) AS unit_price FROM src WHERE event_type = 'purchase' GROUP BY ALL`,
      `CREATE TABLE out_customers AS SELECT DISTINCT 'u' || user_id AS customer_id, true AS ads_consent FROM src`,
    ],
  },
  {
    name: 'uci-online-retail-head',
    needs: ['online_retail_head70k.csv'],
    note: "invoices -> orders ('C' invoices cancelled), lines summed per stock code; no product categories",
    sql: (dir) => [
      `CREATE TABLE src AS SELECT *, strptime(InvoiceDate, '%Y-%m-%d %H:%M:%S') AS ts FROM ${csv(dir, 'online_retail_head70k.csv')}`,
      `CREATE TABLE out_orders AS SELECT InvoiceNo AS order_id, any_value(CustomerID) AS customer_id, min(ts) AS ordered_at,
         CASE WHEN starts_with(InvoiceNo, 'C') THEN 'cancelled' ELSE 'completed' END AS status,
         abs(sum(Quantity::INTEGER * UnitPrice::DECIMAL(18, 4))) AS total, 'GBP' AS currency
       FROM src GROUP BY InvoiceNo`,
      `CREATE TABLE out_order_items AS SELECT InvoiceNo AS order_id, StockCode AS product_id,
         abs(sum(Quantity::INTEGER)) AS quantity, any_value(UnitPrice) AS unit_price
       FROM src GROUP BY ALL HAVING sum(Quantity::INTEGER) <> 0`,
      `CREATE TABLE out_products AS SELECT StockCode AS product_id, any_value(Description) AS name,
         any_value(UnitPrice) AS price FROM src GROUP BY StockCode`,
      `CREATE TABLE out_customers AS SELECT CustomerID AS customer_id, any_value(Country) AS country, true AS ads_consent
       FROM src WHERE CustomerID IS NOT NULL GROUP BY CustomerID`,
    ],
  },
  {
    name: 'instacart-sample',
    needs: ['order_products__train_head.clean.csv', 'products.csv', 'aisles.csv'],
    note: 'SYNTHESISED: the sample has no users or times, so each basket is its own customer, ordered (order_id % 60) days before 2017-06-01',
    sql: (dir) => [
      `CREATE TABLE src AS SELECT * FROM ${csv(dir, 'order_products__train_head.clean.csv')}`,
      `CREATE TABLE out_orders AS SELECT DISTINCT order_id, 'o' || order_id AS customer_id,
         TIMESTAMP '2017-06-01' - INTERVAL (order_id::INTEGER % 60) DAY AS ordered_at, 'completed' AS status FROM src`,
      `CREATE TABLE out_order_items AS SELECT order_id, product_id, count(*) AS quantity FROM src GROUP BY ALL`,
      `CREATE TABLE out_products AS SELECT p.product_id, p.product_name AS name, a.aisle AS category
       FROM ${csv(dir, 'products.csv')} p LEFT JOIN ${csv(dir, 'aisles.csv')} a USING (aisle_id)`,
    ],
  },
  {
    name: 'diginetica-cikm2016-purchases',
    needs: ['train-purchases.csv', 'product-categories.csv'],
    note: "ordernumber -> order (userId 'NA' = no customer), ordered at eventdate + timeframe",
    sql: (dir) => [
      `CREATE TABLE src AS SELECT *, eventdate::TIMESTAMP + to_milliseconds(timeframe::BIGINT) AS ts
       FROM ${csv(dir, 'train-purchases.csv', ", delim = ';'")}`,
      `CREATE TABLE out_orders AS SELECT ordernumber AS order_id, nullif(any_value(userId), 'NA') AS customer_id,
         min(ts) AS ordered_at, 'completed' AS status FROM src GROUP BY ordernumber`,
      `CREATE TABLE out_order_items AS SELECT ordernumber AS order_id, itemId AS product_id, count(*) AS quantity
       FROM src GROUP BY ALL`,
      `CREATE TABLE out_products AS SELECT c.itemId AS product_id, 'cat' || any_value(c.categoryId) AS category
       FROM ${csv(dir, 'product-categories.csv', ", delim = ';'")} c SEMI JOIN src ON src.itemId = c.itemId GROUP BY c.itemId`,
    ],
  },
];

/** The fewest samples of each side of a dataset's load (its median is the figure). */
const LOAD_REPS = 5;

export interface DatasetOptions {
  datasetsDir: string;
  workDir: string;
  reps: number;
  memoryLimit?: string;
  log: (message: string) => void;
}

export interface DatasetResult {
  name: string;
  rows: Record<string, number>;
  as_of: string;
  note?: string;
  stages: StageResult[];
  error?: string;
}

export async function datasetStages(options: DatasetOptions): Promise<DatasetResult[]> {
  const results: DatasetResult[] = [];
  for (const c of CONVERSIONS) {
    const dir = join(options.datasetsDir, c.name);
    if (!c.needs.every((f) => existsSync(join(dir, f)))) continue;
    const out = join(options.workDir, c.name);
    const result: DatasetResult = { name: c.name, rows: {}, as_of: '', note: c.note, stages: [] };
    results.push(result);
    try {
      options.log(`dataset ${c.name}: converting ...`);
      const { rows, asOf } = await convert(c, dir, out);
      result.rows = rows;
      result.as_of = asOf.toISOString();
      result.stages.push(
        await loadStage({
          dir: out,
          format: 'csv',
          workDir: options.workDir,
          // These loads take under a second: with one sample a side, the same tree's rees46 ratio ranged 1.19-1.85.
          reps: Math.max(options.reps, LOAD_REPS),
          memoryLimit: options.memoryLimit,
          name: `${c.name}/load:csv`,
        }),
      );
      // A file, not :memory:, so DuckDB can spill to disk under the memory limit.
      const db = join(options.workDir, `${c.name}.duckdb`);
      for (const p of [db, `${db}.wal`]) rmSync(p, { force: true });
      const wh = await Warehouse.open({ path: db, memoryLimit: options.memoryLimit });
      try {
        await loadFilesSource(wh, { dir: out, runId: 'bench-dataset' });
        result.stages.push(
          ...(await segmentStages(wh, {
            segments: await loadSegments(),
            asOf,
            reps: options.reps,
            prefix: `${c.name}/`,
          })),
        );
      } finally {
        wh.close();
        for (const p of [db, `${db}.wal`]) rmSync(p, { force: true });
      }
    } catch (err) {
      result.error = (err as Error).message;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return results;
}

/** Writes the dataset as contract CSV files; T is the last timestamp in the data. */
export async function convert(
  c: Conversion,
  dir: string,
  out: string,
): Promise<{ rows: Record<string, number>; asOf: Date }> {
  rmSync(out, { recursive: true, force: true });
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run("SET TimeZone = 'UTC'");
    for (const stmt of c.sql(dir)) await con.run(stmt);
    const tables = (
      await con.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'out_%'")
    )
      .getRowObjectsJS()
      .map((r) => String(r.table_name).slice(4))
      .filter((t) => (RAW_TABLES as readonly string[]).includes(t));
    const rows: Record<string, number> = {};
    const ends: string[] = [];
    for (const t of tables) {
      mkdirSync(join(out, t), { recursive: true });
      await con.run(`COPY out_${t} TO ${sqlString(join(out, t, 'part-0.csv'))} (FORMAT csv, HEADER true)`);
      rows[t] = Number((await con.runAndReadAll(`SELECT count(*) FROM out_${t}`)).getRows()[0]![0]);
      if (t === 'events') ends.push('SELECT max(occurred_at) FROM out_events');
      if (t === 'orders') ends.push('SELECT max(ordered_at) FROM out_orders');
    }
    const end = (
      await con.runAndReadAll(`SELECT epoch_ms(max(m)) FROM (${ends.join(' UNION ALL ')}) t(m)`)
    ).getRows()[0]![0];
    return { rows, asOf: new Date(Number(end)) };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
