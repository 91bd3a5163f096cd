import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The benchmark store, generated inside DuckDB in seconds. Randomness is `u(key, i)`: DuckDB's hash() of
 * (i, key, seed) mapped to [0, 1), so a scale and seed always give the same store (for one DuckDB version).
 * Skew: product popularity and customer activity follow power laws (a few products and heavy browsers get most
 * events); baskets pair a product with its neighbour (mined complements), and some carts convert into orders
 * (so "not bought since" exclusions fire).
 *
 * Scale 1 = 1,000,000 customers, 50,000 products in 200 categories, 2,000,000 orders (~5,000,000 lines) over two
 * years, 20,000,000 events over 30 days. Written per the files contract: one folder per table, several files.
 */

export const CATEGORIES = 200;
export const ORDER_DAYS = 730;
export const EVENT_DAYS = 30;
/** The store's "now": every base order and event is at or before it. */
export const DEFAULT_AS_OF = new Date('2026-11-01T00:00:00Z');

export interface StoreSize {
  customers: number;
  products: number;
  orders: number;
  events: number;
}

export function storeSize(scale: number): StoreSize {
  return {
    customers: Math.max(100, Math.round(1_000_000 * scale)),
    products: Math.max(CATEGORIES, Math.round(50_000 * scale)),
    orders: Math.max(100, Math.round(2_000_000 * scale)),
    events: Math.max(1_000, Math.round(20_000_000 * scale)),
  };
}

export type Format = 'parquet' | 'csv';

export interface GenerateOptions {
  scale: number;
  /** Output root: `<root>/<format>/<table>/...` and `<root>/increment/<format>/<table>/...`. */
  dir: string;
  seed?: number;
  asOf?: Date;
  formats?: Format[];
  memoryLimit?: string;
}

export interface GeneratedStore {
  dir: string;
  scale: number;
  seed: number;
  asOf: string;
  size: StoreSize;
  /** Rows written per table (base store). */
  rows: Record<string, number>;
  /** Rows in the one-day increment (T, T + 1 day]. */
  incrementRows: Record<string, number>;
  seconds: number;
}

const MANIFEST = 'manifest.json';
const GENERATOR_VERSION = 3;

/** Generates the store unless `dir` already holds the same one (same scale, seed, generator version). */
export async function generateStore(options: GenerateOptions): Promise<GeneratedStore> {
  const seed = options.seed ?? 42;
  const asOf = options.asOf ?? DEFAULT_AS_OF;
  const manifestPath = join(options.dir, MANIFEST);
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as GeneratedStore & { version: number };
    if (
      m.version === GENERATOR_VERSION &&
      m.scale === options.scale &&
      m.seed === seed &&
      m.asOf === asOf.toISOString()
    )
      return m;
  }
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true });
  const started = performance.now();
  const size = storeSize(options.scale);
  const instance = await DuckDBInstance.create(':memory:', {
    ...(options.memoryLimit ? { memory_limit: options.memoryLimit } : {}),
  });
  const con = await instance.connect();
  const run = async (sql: string) => {
    await con.run(sql);
  };
  const count = async (table: string) =>
    Number((await con.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]![0]);
  try {
    for (const stmt of setupSql(seed, asOf)) await run(stmt);
    for (const stmt of storeSql(size)) await run(stmt);
    // Base: orders over two years, events over 30 days, both ending at T.
    for (const stmt of activitySql(size, { prefix: '', days: ORDER_DAYS, eventDays: EVENT_DAYS, end: 0 }))
      await run(stmt);
    const formats = options.formats ?? ['parquet', 'csv'];
    const rows: Record<string, number> = {};
    for (const t of ['customers', 'products', 'orders', 'order_items', 'events', 'product_complements'])
      rows[t] = await count(`out_${t}`);
    for (const format of formats) await writeFiles(run, join(options.dir, format), format, 'base');
    // The next night: one more day of events and orders, (T, T + 1 day].
    const dayOrders = Math.max(1, Math.round(size.orders / ORDER_DAYS));
    const dayEvents = Math.max(1, Math.round(size.events / EVENT_DAYS));
    for (const stmt of activitySql(
      { ...size, orders: dayOrders, events: dayEvents },
      { prefix: 'n', days: 1, eventDays: 1, end: 1 },
    ))
      await run(stmt);
    const incrementRows: Record<string, number> = {};
    for (const t of ['orders', 'order_items', 'events']) incrementRows[t] = await count(`out_${t}`);
    for (const format of formats)
      await writeFiles(run, join(options.dir, 'increment', format), format, 'increment');
    const store: GeneratedStore = {
      dir: options.dir,
      scale: options.scale,
      seed,
      asOf: asOf.toISOString(),
      size,
      rows,
      incrementRows,
      seconds: (performance.now() - started) / 1000,
    };
    writeFileSync(manifestPath, `${JSON.stringify({ ...store, version: GENERATOR_VERSION }, null, 2)}\n`);
    return store;
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

function setupSql(seed: number, asOf: Date): string[] {
  const t = asOf.toISOString().replace('T', ' ').replace('Z', '');
  return [
    "SET TimeZone = 'UTC'",
    'SET preserve_insertion_order = false',
    `CREATE MACRO u(key, i) AS (hash(i, key, ${Math.trunc(seed)}) >> 11)::DOUBLE / 9007199254740992.0`,
    // A skewed index in [0, n): low indexes are drawn far more often (popular products, heavy browsers).
    `CREATE MACRO pick(key, i, n) AS (hash(i, key, ${Math.trunc(seed)}) % n)::BIGINT`,
    'CREATE MACRO skewed(key, i, n, power) AS least(n - 1, floor(n * pow(u(key, i), power)))::BIGINT',
    `CREATE MACRO t0() AS TIMESTAMP '${t}'`,
    "CREATE MACRO cid(i) AS 'c' || lpad(i::VARCHAR, 8, '0')",
    "CREATE MACRO pid(i) AS 'p' || lpad(i::VARCHAR, 6, '0')",
    `CREATE MACRO cat(i) AS 'Category ' || lpad((i % ${CATEGORIES})::VARCHAR, 3, '0')`,
    "CREATE MACRO price(i) AS round(3 + 197 * pow(u('price', i), 2), 2)::DECIMAL(18, 2)",
  ];
}

const FIRST = [
  'Mary',
  'John',
  'Ana',
  'Luca',
  'Sofia',
  'Ahmed',
  'Yuki',
  'Olga',
  'Chloé',
  'José',
  'Priya',
  'Tom',
];
const LAST = ['Smith', 'Garcia', 'Müller', 'Rossi', 'Dubois', 'Kim', 'Nguyen', "O'Brien", 'Silva', 'Novak'];
const PLACES: Array<[string, string, string, string]> = [
  ['New York', 'NY', '10001', 'US'],
  ['Los Angeles', 'CA', '90001-1234', 'US'],
  ['Chicago', 'Illinois', '60601', 'US'],
  ['Austin', 'TX', '73301', 'US'],
  ['London', '', 'SW1A 1AA', 'GB'],
  ['Paris', '', '75001', 'France'],
  ['Berlin', '', '10115', 'DE'],
  ['Toronto', 'ON', 'M5H 2N2', 'CA'],
];
const list = (xs: string[]) => `[${xs.map((x) => `'${x.replaceAll("'", "''")}'`).join(', ')}]`;

function storeSql(size: StoreSize): string[] {
  const places = PLACES.map(
    (p) => `{'city': '${p[0]}', 'state': '${p[1]}', 'zip': '${p[2]}', 'country': '${p[3]}'}`,
  );
  return [
    `CREATE TABLE out_customers AS
     SELECT cid(i) AS customer_id,
       'user' || i || '@' || (['gmail.com', 'yahoo.com', 'outlook.com', 'example.org'])[1 + pick('dom', i, 4)] AS email,
       CASE WHEN u('phone', i) < 0.7 THEN '(' || (200 + pick('area', i, 800)) || ') 555-' || lpad((pick('num', i, 10000))::VARCHAR, 4, '0') END AS phone,
       (${list(FIRST)})[1 + pick('fn', i, ${FIRST.length})] AS first_name,
       (${list(LAST)})[1 + pick('ln', i, ${LAST.length})] AS last_name,
       place.city, nullif(place.state, '') AS state, place.zip, place.country,
       t0() - to_microseconds((u('created', i) * 1500 * 86400e6)::BIGINT) AS created_at,
       u('consent', i) < 0.85 AS ads_consent
     FROM (SELECT i, ([${places.join(', ')}])[1 + pick('place', i, ${PLACES.length})] AS place FROM range(${size.customers}) r(i))`,
    `CREATE TABLE out_products AS
     SELECT pid(i) AS product_id, 'Product ' || i AS name, cat(i) AS category,
       'Brand ' || (pick('brand', i, 500)) AS brand, price(i) AS price
     FROM range(${size.products}) r(i)`,
    // The merchant declares a complement for one product in three: the product two ranks down.
    `CREATE TABLE out_product_complements AS
     SELECT pid(i) AS product_id, pid((i + 2) % ${size.products}) AS complement_id
     FROM range(${size.products}) r(i) WHERE i % 3 = 0`,
  ];
}

interface Window {
  /** Id prefix, so the increment's ids never clash with the base store's. */
  prefix: string;
  /** Orders cover (end - days, end] in days relative to T. */
  days: number;
  eventDays: number;
  end: number;
}

/** Orders, lines and events for a window; replaces out_orders, out_order_items, out_events. */
function activitySql(size: StoreSize, w: Window): string[] {
  const C = size.customers;
  const P = size.products;
  const p = w.prefix;
  const at = (key: string, i: string, days: number) =>
    `t0() + INTERVAL ${w.end} DAY - to_microseconds((u('${p}${key}', ${i}) * ${days} * 86400e6)::BIGINT)`;
  const regular = Math.round(size.orders * 0.95);
  return [
    `CREATE OR REPLACE TABLE gen_events AS
     SELECT i, skewed('${p}ecust', i, ${C}, 2) AS c, u('${p}anon', i) < 0.1 AS anon,
       u('${p}ev', i) AS ev, skewed('${p}eprod', i, ${P}, 2.5) AS prod, u('${p}ecat', i) < 0.3 AS explicit_cat,
       ${at('etime', 'i', w.eventDays)} AS occurred_at
     FROM range(${size.events}) r(i)`,
    `CREATE OR REPLACE TABLE out_events AS
     SELECT '${p}e' || i AS event_id,
       CASE WHEN NOT anon THEN cid(c) END AS customer_id,
       CASE WHEN anon THEN 'a' || pick('${p}anonid', i, ${Math.max(1, Math.round(C / 2))}) END AS anonymous_id,
       's' || CASE WHEN anon THEN 'a' ELSE '' END || c || '-' || strftime(occurred_at, '%Y%m%d') AS session_id,
       CASE WHEN ev < 0.78 THEN 'view_item' WHEN ev < 0.84 THEN 'view_item_list' WHEN ev < 0.87 THEN 'add_to_wishlist'
            WHEN ev < 0.94 THEN 'add_to_cart' WHEN ev < 0.97 THEN 'begin_checkout' ELSE 'purchase' END AS event_name,
       CASE WHEN ev < 0.78 OR ev >= 0.84 THEN pid(prod) END AS product_id,
       CASE WHEN ev >= 0.78 AND ev < 0.84 OR explicit_cat THEN cat(prod) END AS category,
       occurred_at, 1 AS event_count, 'web' AS source
     FROM gen_events`,
    `CREATE OR REPLACE TABLE gen_orders AS
     SELECT i, '${p}o' || lpad(i::VARCHAR, 9, '0') AS order_id, skewed('${p}ocust', i, ${C}, 1.6) AS c,
       ${at('otime', 'i', w.days)} AS ordered_at,
       CASE WHEN u('${p}ostatus', i) < 0.05 THEN 'cancelled' WHEN u('${p}ostatus', i) < 0.08 THEN 'refunded' ELSE 'completed' END AS status,
       1 + floor(u('${p}olines', i) * 4)::INTEGER AS n_lines,
       skewed('${p}obase', i, ${P}, 2.5) AS base
     FROM range(${regular}) r(i)`,
    // Line j > 0 is the base product's neighbour j half the time (complements to mine), else any product.
    `CREATE OR REPLACE TABLE gen_lines AS
     SELECT order_id, prod, any_value(quantity) AS quantity FROM (
       SELECT o.order_id,
         CASE WHEN j = 0 THEN o.base
              WHEN u('${p}lpair', o.i * 4 + j) < 0.5 THEN (o.base + j) % ${P}
              ELSE skewed('${p}lprod', o.i * 4 + j, ${P}, 2.5) END AS prod,
         1 + floor(pow(u('${p}lqty', o.i * 4 + j), 3) * 3)::INTEGER AS quantity
       FROM gen_orders o, range(o.n_lines) r(j))
     GROUP BY ALL`,
    // Some carts convert: an order of that product up to two days later (when still inside the window).
    `CREATE OR REPLACE TABLE gen_conversions AS
     SELECT '${p}x' || i AS order_id, c, occurred_at + to_microseconds((u('${p}xdelay', i) * 2 * 86400e6)::BIGINT) AS ordered_at,
       prod, 1 AS quantity
     FROM gen_events
     WHERE ev >= 0.87 AND ev < 0.94 AND NOT anon AND u('${p}xconv', i) < 0.08
       AND occurred_at + to_microseconds((u('${p}xdelay', i) * 2 * 86400e6)::BIGINT) <= t0() + INTERVAL ${w.end} DAY`,
    `CREATE OR REPLACE TABLE out_order_items AS
     SELECT order_id, pid(prod) AS product_id, quantity, price(prod) AS unit_price FROM gen_lines
     UNION ALL
     SELECT order_id, pid(prod), quantity, price(prod) FROM gen_conversions`,
    `CREATE OR REPLACE TABLE out_orders AS
     WITH totals AS (SELECT order_id, sum(quantity * unit_price) AS total FROM out_order_items GROUP BY order_id)
     SELECT o.order_id, cid(o.c) AS customer_id, o.ordered_at, o.status, t.total, 'USD' AS currency
     FROM gen_orders o JOIN totals t USING (order_id)
     UNION ALL
     SELECT x.order_id, cid(x.c), x.ordered_at, 'completed', t.total, 'USD'
     FROM gen_conversions x JOIN totals t USING (order_id)`,
  ];
}

/** Writes the out_ tables as files: events in weekly exports, orders and lines per year, the rest whole. */
async function writeFiles(
  run: (sql: string) => Promise<void>,
  root: string,
  format: Format,
  kind: 'base' | 'increment',
): Promise<void> {
  const opts = format === 'parquet' ? '(FORMAT parquet, COMPRESSION zstd)' : '(FORMAT csv, HEADER true)';
  const copy = async (table: string, file: string, where = 'true') => {
    mkdirSync(join(root, table), { recursive: true });
    await run(
      `COPY (SELECT * FROM out_${table} WHERE ${where}) TO '${join(root, table, `${file}.${format}`)}' ${opts}`,
    );
  };
  if (kind === 'increment') {
    for (const table of ['orders', 'order_items', 'events']) await copy(table, 'next-day');
    return;
  }
  for (const table of ['customers', 'products', 'product_complements']) await copy(table, 'part-0');
  const age = `floor(epoch(t0() - occurred_at) / 86400)`;
  for (let k = 0; k < 4; k++) await copy('events', `week-${k}`, `least(3, floor(${age} / 8)) = ${k}`);
  const year = (col: string) => `least(1, floor(epoch(t0() - ${col}) / 86400 / 365))`;
  for (let k = 0; k < 2; k++) {
    await copy('orders', `year-${k}`, `${year('ordered_at')} = ${k}`);
    await copy(
      'order_items',
      `year-${k}`,
      `order_id IN (SELECT order_id FROM out_orders WHERE ${year('ordered_at')} = ${k})`,
    );
  }
}
