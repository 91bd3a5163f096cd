import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../../warehouse/values.ts';
import { demoStatements, MALFORMED_ROWS } from './sql.ts';

/** The demo store's "now": the demo pipeline runs as of this time, so its audiences never drift. */
export const DEMO_AS_OF: Date = new Date('2026-11-01T00:00:00Z');

/** Bump whenever the generated data changes: ensureDemo() then regenerates existing demo directories. */
export const DEMO_GENERATOR_VERSION = 2;
export const DEMO_DEFAULT_SEED = 20261101;
export const DEMO_DEFAULT_CUSTOMERS = 3000;
/** Browsing events cover the last five weeks before DEMO_AS_OF; orders the last two years. */
export const DEMO_EVENT_DAYS = 35;
export const DEMO_ORDER_DAYS = 730;

export interface DemoManifest {
  version: number;
  as_of: string;
  seed: number;
  /** Per table, the files written (paths relative to the demo directory, '/'-separated, sorted). */
  files: Record<string, string[]>;
  /** Rows written per table, the deliberately malformed ones included. */
  counts: Record<string, number>;
  /** Rows per table that are malformed on purpose and must land in rejected_rows. */
  malformed: Record<string, number>;
}

export interface DemoOptions {
  seed?: number;
  customers?: number;
}

// The leading '_' tells the files source it is not a table file (it skips such names without a warning).
const MANIFEST = '_manifest.json';
/** Where demos generated before the rename kept their manifest: still ours, replaced on regeneration. */
const LEGACY_MANIFEST = 'manifest.json';
/** Present while generating: marks a directory as ours even before the manifest exists. */
const MARKER = '.demo-generating';
const TABLES = ['customers', 'products', 'orders', 'order_items', 'events', 'product_complements'] as const;
const TABLE_FILE =
  /^(customers|products|orders|order_items|events|product_complements)(\.(csv|tsv|jsonl|ndjson|json|parquet)(\.gz|\.zst)?)?$/i;

/**
 * Writes the demo store into `dir` in the files contract (one file or folder per table, mixing CSV, JSON
 * lines and Parquet), built with SQL inside an in-memory DuckDB. Same seed and version -> same bytes.
 */
export async function generateDemo(dir: string, options: DemoOptions = {}): Promise<DemoManifest> {
  const seed = options.seed ?? DEMO_DEFAULT_SEED;
  const customers = options.customers ?? DEMO_DEFAULT_CUSTOMERS;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`demo seed must be a non-negative integer, got ${seed}`);
  if (!Number.isSafeInteger(customers) || customers < 100 || customers > 1_000_000) {
    throw new Error(`demo customers must be an integer between 100 and 1000000, got ${customers}`);
  }
  prepareDirectory(dir);

  // One thread: row groups and file contents come out in the same order every time.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const statements = demoStatements({
      seed,
      customers,
      asOf: DEMO_AS_OF,
      eventDays: DEMO_EVENT_DAYS,
      orderDays: DEMO_ORDER_DAYS,
    });
    for (const sql of statements) await conn.run(sql);
    const files = await writeFiles(conn, dir);
    const counts: Record<string, number> = {};
    for (const table of TABLES) counts[table] = await count(conn, `out_${table}`);
    const manifest: DemoManifest = {
      version: DEMO_GENERATOR_VERSION,
      as_of: DEMO_AS_OF.toISOString(),
      seed,
      files,
      counts,
      malformed: { ...MALFORMED_ROWS },
    };
    const tmp = join(dir, `${MANIFEST}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, join(dir, MANIFEST));
    rmSync(join(dir, MARKER), { force: true });
    return manifest;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Generates the demo once: when `dir` already holds a complete demo of this generator version, nothing is
 * written (so the loader's "already loaded" bookkeeping keeps skipping the files).
 */
export async function ensureDemo(dir: string): Promise<{ generated: boolean; manifest: DemoManifest }> {
  const existing = readManifest(dir);
  if (existing && existing.version === DEMO_GENERATOR_VERSION && allFilesPresent(dir, existing)) {
    return { generated: false, manifest: existing };
  }
  return { generated: true, manifest: await generateDemo(dir) };
}

/** The manifest of a demo directory, or undefined when there is none (or it is unreadable). */
export function readManifest(dir: string): DemoManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DemoManifest>;
    if (typeof parsed.version !== 'number' || typeof parsed.files !== 'object' || parsed.files === null) {
      return undefined;
    }
    return parsed as DemoManifest;
  } catch {
    return undefined;
  }
}

function allFilesPresent(dir: string, manifest: DemoManifest): boolean {
  return Object.values(manifest.files).every((paths) => paths.every((p) => existsSync(join(dir, p))));
}

/**
 * Clears the previous demo's table files so no stale file lingers for the loader to pick up. Refuses to touch
 * a directory that holds table files but is not a demo directory: it may be someone's real export.
 */
function prepareDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const tableEntries = readdirSync(dir).filter((name) => TABLE_FILE.test(name));
  const ours = [MANIFEST, LEGACY_MANIFEST, MARKER].some((name) => existsSync(join(dir, name)));
  if (tableEntries.length > 0 && !ours) {
    throw new Error(
      `${dir} holds data files (${tableEntries.join(', ')}) but no demo ${MANIFEST}: refusing to overwrite it`,
    );
  }
  writeFileSync(join(dir, MARKER), '');
  for (const name of [MANIFEST, LEGACY_MANIFEST]) rmSync(join(dir, name), { force: true });
  for (const name of tableEntries) rmSync(join(dir, name), { recursive: true, force: true });
}

async function count(conn: DuckDBConnection, table: string): Promise<number> {
  const reader = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${table}`);
  return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
}

async function copy(conn: DuckDBConnection, query: string, path: string, format: string): Promise<void> {
  await conn.run(`COPY (${query}) TO ${sqlString(path)} (${format})`);
}

/** A mix of formats on purpose, so the demo exercises every reader of the files source. */
async function writeFiles(conn: DuckDBConnection, dir: string): Promise<Record<string, string[]>> {
  const csv = 'FORMAT csv, HEADER true';
  await copy(
    conn,
    "SELECT * FROM out_customers ORDER BY customer_id = '', customer_id",
    join(dir, 'customers.csv'),
    csv,
  );
  await copy(conn, 'SELECT * FROM out_products ORDER BY product_id', join(dir, 'products.csv'), csv);
  await copy(conn, "SELECT * FROM out_orders ORDER BY order_id = '', order_id", join(dir, 'orders.csv'), csv);
  await copy(
    conn,
    'SELECT * FROM out_order_items ORDER BY order_id, product_id NULLS LAST',
    join(dir, 'order_items.parquet'),
    'FORMAT parquet',
  );
  await copy(
    conn,
    'SELECT * FROM out_product_complements ORDER BY product_id, complement_id',
    join(dir, 'product_complements.csv'),
    csv,
  );
  // Events arrive as one JSON-lines file per day, like a nightly export.
  mkdirSync(join(dir, 'events'), { recursive: true });
  const days = (await conn.runAndReadAll('SELECT DISTINCT day FROM out_events ORDER BY day'))
    .getRowObjectsJS()
    .map((r) => String(r.day));
  const eventFiles: string[] = [];
  for (const day of days) {
    const file = `events/${day}.jsonl`;
    await copy(
      conn,
      `SELECT * EXCLUDE (day) FROM out_events WHERE day = ${sqlString(day)} ORDER BY occurred_at, event_id`,
      join(dir, file),
      'FORMAT json',
    );
    eventFiles.push(file);
  }
  return {
    customers: ['customers.csv'],
    products: ['products.csv'],
    orders: ['orders.csv'],
    order_items: ['order_items.parquet'],
    events: eventFiles,
    product_complements: ['product_complements.csv'],
  };
}
