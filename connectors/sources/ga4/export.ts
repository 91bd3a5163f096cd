import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IngestError, ingestRelation } from '../../../warehouse/ingest.ts';
import { sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { addDays, dashed } from './dates.ts';
import { type Ga4RunContext, silentLogger } from './log.ts';

/** Source label of BigQuery export rows in `events`. */
export const EXPORT_SOURCE = 'ga4_export';

export interface Ga4ExportOptions {
  /** Export files (events_YYYYMMDD / events_intraday_YYYYMMDD, Parquet or newline-delimited JSON), globs, or folders. */
  paths: string | string[];
  /** Tables this many days before the newest are read again each run (GA4 rewrites them). Default 3. */
  trailingDays?: number;
  /** Load only these event names (default: every event). */
  eventNames?: string[];
  /** Abort a table when more than this share of its rows are malformed. Default 0.05. */
  maxRejectShare?: number;
}

export interface Ga4ExportTableResult {
  /** YYYY-MM-DD. */
  tableDate: string;
  kind: 'daily' | 'intraday';
  files: string[];
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  /** Events with neither user_id nor user_pseudo_id (e.g. cookieless pings): not loaded. */
  unidentifiedEvents: number;
}

export interface Ga4ExportResult {
  tables: Ga4ExportTableResult[];
  /** Tables already loaded and outside the re-read window. */
  tablesSkipped: number;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  unidentifiedEvents: number;
}

interface ExportTable {
  date: string; // YYYYMMDD
  kind: 'daily' | 'intraday';
  format: 'parquet' | 'json';
  files: string[];
}

const TABLE_FILE =
  /^events_(intraday_)?(\d{8})(?:[-_][A-Za-z0-9_-]*)?\.(parquet|(?:json|jsonl|ndjson)(?:\.gz)?)$/i;

/**
 * Loads GA4 BigQuery export tables with DuckDB's readers: one events row per item for events with items (else one
 * per event), user_id -> customer_id, user_pseudo_id -> anonymous_id, event_timestamp (µs) -> occurred_at. Each
 * table date is loaded in one transaction replacing that date's earlier rows, so re-reads are idempotent. New
 * dates are read, and the dates within `trailingDays` of the newest are read again.
 */
export async function loadGa4Export(
  wh: Warehouse,
  options: Ga4ExportOptions,
  ctx: Ga4RunContext,
): Promise<Ga4ExportResult> {
  const log = ctx.log ?? silentLogger;
  const trailingDays = options.trailingDays ?? 3;
  const tables = await listTables(wh, Array.isArray(options.paths) ? options.paths : [options.paths]);
  const loaded = new Map(
    (
      await wh.all<{ d: string; kind: string }>(
        `SELECT strftime(table_date, '%Y%m%d') AS d, kind FROM ga4_export_tables`,
      )
    ).map((r) => [r.d, r.kind]),
  );
  const newest = [...tables.map((t) => t.date), ...loaded.keys()].sort().at(-1);
  const windowStart = newest ? addDays(dashed(newest), -trailingDays).replaceAll('-', '') : '';
  const toRead = tables.filter((t) => {
    const was = loaded.get(t.date);
    if (was === 'daily' && t.kind === 'intraday') return false; // never replace a complete day with a partial one
    return !was || t.date >= windowStart || (was === 'intraday' && t.kind === 'daily');
  });
  const result: Ga4ExportResult = {
    tables: [],
    tablesSkipped: tables.length - toRead.length,
    rowsRead: 0,
    rowsLoaded: 0,
    rowsRejected: 0,
    unidentifiedEvents: 0,
  };
  for (const table of toRead) {
    const r = await loadTable(wh, table, options, ctx.runId);
    result.tables.push(r);
    result.rowsRead += r.rowsRead;
    result.rowsLoaded += r.rowsLoaded;
    result.rowsRejected += r.rowsRejected;
    result.unidentifiedEvents += r.unidentifiedEvents;
    log.info(
      { table: `events_${table.date}`, kind: table.kind, rows: r.rowsLoaded },
      'GA4 export: table loaded',
    );
  }
  return result;
}

/** Expands paths, folders and globs into export tables, one per date (daily preferred over intraday). */
async function listTables(wh: Warehouse, patterns: string[]): Promise<ExportTable[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const isGlob = /[*?[]/.test(pattern);
    if (!isGlob && !existsSync(pattern)) throw new Error(`GA4 export: ${pattern} does not exist`);
    const glob = !isGlob && statSync(pattern).isDirectory() ? join(pattern, 'events_*') : pattern;
    for (const { file } of await wh.all<{ file: string }>('SELECT file FROM glob($1)', [glob]))
      files.add(file);
  }
  const byDate = new Map<string, ExportTable[]>();
  for (const file of [...files].sort()) {
    const m = TABLE_FILE.exec(basename(file));
    if (!m)
      throw new Error(
        `GA4 export: ${file} is not an export table file (expected events_YYYYMMDD or events_intraday_YYYYMMDD ` +
          `as .parquet, .json, .jsonl or .ndjson)`,
      );
    const date = m[2] as string;
    if (Number.isNaN(Date.parse(`${dashed(date)}T00:00:00Z`)) || dashed(date) !== isoOf(date))
      throw new Error(`GA4 export: ${file} names an invalid date ${date}`);
    const kind = m[1] ? 'intraday' : 'daily';
    const format = (m[3] as string).toLowerCase() === 'parquet' ? 'parquet' : 'json';
    const list = byDate.get(date) ?? [];
    let table = list.find((t) => t.kind === kind);
    if (!table) {
      table = { date, kind, format, files: [] };
      list.push(table);
      byDate.set(date, list);
    }
    if (table.format !== format)
      throw new Error(
        `GA4 export: events_${date} has both Parquet and JSON files (${file}); keep one format`,
      );
    table.files.push(file);
  }
  return [...byDate.values()]
    .map((list) => list.find((t) => t.kind === 'daily') ?? (list[0] as ExportTable))
    .sort((a, b) => (a.date < b.date ? -1 : 1));
}

function isoOf(compact: string): string {
  return new Date(Date.parse(`${dashed(compact)}T00:00:00Z`)).toISOString().slice(0, 10);
}

/** The export's columns this loader reads; JSON gets them typed explicitly (BigQuery writes INT64 as strings). */
const JSON_COLUMNS = {
  event_timestamp: 'VARCHAR',
  event_name: 'VARCHAR',
  user_id: 'VARCHAR',
  user_pseudo_id: 'VARCHAR',
  event_params:
    'STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value VARCHAR, float_value VARCHAR, double_value VARCHAR))[]',
  items: 'STRUCT(item_id VARCHAR, item_name VARCHAR, item_brand VARCHAR, item_category VARCHAR)[]',
};
const REQUIRED = ['event_timestamp', 'event_name', 'user_pseudo_id'];

async function readerSql(wh: Warehouse, table: ExportTable): Promise<string> {
  const list = `[${table.files.map(sqlString).join(', ')}]`;
  if (table.format === 'json') {
    const cols = Object.entries(JSON_COLUMNS)
      .map(([k, v]) => `${k}: ${sqlString(v)}`)
      .join(', ');
    return `read_json(${list}, format = 'newline_delimited', columns = {${cols}})`;
  }
  const reader = `read_parquet(${list}, union_by_name = true)`;
  const have = new Set(
    (await wh.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${reader}`)).map((r) => r.column_name),
  );
  for (const col of REQUIRED)
    if (!have.has(col)) throw new Error(`GA4 export: ${table.files.join(', ')} has no column '${col}'`);
  // Older exports may lack user_id or items: read them as absent.
  const optional = ['user_id', 'event_params', 'items'].filter((c) => !have.has(c));
  return optional.length
    ? `(SELECT *, ${optional.map((c) => `NULL AS ${c}`).join(', ')} FROM ${reader})`
    : reader;
}

/** The value struct of an event parameter (string_value, int_value, float_value, double_value). */
function param(key: string): string {
  return `list_filter(event_params, p -> p.key = ${sqlString(key)})[1].value`;
}

/** Such a value as text, whatever its type. */
function paramText(v: string): string {
  return `coalesce(${v}.string_value, CAST(${v}.int_value AS VARCHAR), CAST(${v}.double_value AS VARCHAR),
    CAST(${v}.float_value AS VARCHAR))`;
}

function eventsSql(reader: string, table: ExportTable, eventNames: string[] | undefined): string {
  const filter = eventNames?.length ? `AND event_name IN (${eventNames.map(sqlString).join(', ')})` : '';
  const item = (field: string) => `NULLIF(trim(CASE WHEN _idx > 0 THEN items[_idx].${field} END), '')`;
  return `
    WITH src AS (
      SELECT CAST(event_timestamp AS VARCHAR) AS _ts, event_name, NULLIF(trim(user_id), '') AS _user,
        NULLIF(trim(user_pseudo_id), '') AS _pseudo, event_params, items,
        ${param('ga_session_id')} AS _v_session, ${param('item_id')} AS _v_item, ${param('item_category')} AS _v_cat
      FROM ${reader}
      WHERE (NULLIF(trim(user_id), '') IS NOT NULL OR NULLIF(trim(user_pseudo_id), '') IS NOT NULL) ${filter}
    ),
    exploded AS (
      -- One row per item for events with items (ecommerce events), else one row per event.
      SELECT *, ${paramText('_v_session')} AS _session, ${paramText('_v_item')} AS _p_item,
        ${paramText('_v_cat')} AS _p_cat,
        unnest(CASE WHEN len(items) > 0 THEN range(1, len(items) + 1) ELSE [0] END) AS _idx
      FROM src
    )
    SELECT
      -- Stable per event and item: a re-read yields the same ids, and the table date prefix scopes replacement.
      'ga4x:${table.date}:' || md5(concat_ws(chr(31), coalesce(_pseudo, ''), coalesce(_ts, ''),
        coalesce(event_name, ''), coalesce(CAST(hash(event_params) AS VARCHAR), ''), _idx)) AS event_id,
      _user AS customer_id,
      _pseudo AS anonymous_id,
      CASE WHEN _session IS NOT NULL THEN coalesce(_pseudo, _user) || ':' || _session END AS session_id,
      event_name,
      coalesce(${item('item_id')}, NULLIF(trim(_p_item), '')) AS product_id,
      coalesce(${item('item_category')}, NULLIF(trim(_p_cat), '')) AS category,
      -- Microseconds since the epoch, UTC; an unreadable value passes through so the loader rejects it by name.
      coalesce(CAST(try(make_timestamp(TRY_CAST(_ts AS BIGINT))) AS VARCHAR), _ts) AS occurred_at,
      1 AS event_count,
      '${EXPORT_SOURCE}' AS source,
      '${EXPORT_SOURCE}:events_${table.date}' AS _source
    FROM exploded`;
}

async function loadTable(
  wh: Warehouse,
  table: ExportTable,
  options: Ga4ExportOptions,
  runId: string,
): Promise<Ga4ExportTableResult> {
  const reader = await readerSql(wh, table);
  const unidentifiedEvents = await wh.scalar(
    `SELECT count(*) FROM ${reader} WHERE NULLIF(trim(user_id), '') IS NULL AND NULLIF(trim(user_pseudo_id), '') IS NULL`,
  );
  const out: Ga4ExportTableResult = {
    tableDate: dashed(table.date),
    kind: table.kind,
    files: table.files,
    rowsRead: 0,
    rowsLoaded: 0,
    rowsRejected: 0,
    unidentifiedEvents,
  };
  try {
    const r = await ingestRelation(wh, {
      table: 'events',
      relationSql: eventsSql(reader, table, options.eventNames),
      runId,
      source: `${EXPORT_SOURCE}:events_${table.date}`,
      maxRejectShare: options.maxRejectShare ?? 0.05,
      replace: {
        where: `source = '${EXPORT_SOURCE}' AND starts_with(event_id, $1)`,
        params: [`ga4x:${table.date}:`],
      },
      beforeCommit: async (res) => {
        await wh.run(
          `INSERT OR REPLACE INTO ga4_export_tables
             (table_date, kind, files, rows_read, rows_loaded, rows_rejected, loaded_at, run_id)
           VALUES (CAST($1 AS DATE), $2, $3, $4, $5, $6, now()::TIMESTAMP, $7)`,
          [
            out.tableDate,
            table.kind,
            table.files.join('\n'),
            res.rowsRead,
            res.rowsLoaded,
            res.rowsRejected,
            runId,
          ],
        );
      },
    });
    out.rowsRead = r.rowsRead;
    out.rowsLoaded = r.rowsLoaded;
    out.rowsRejected = r.rowsRejected;
    return out;
  } catch (err) {
    if (err instanceof IngestError)
      throw new IngestError(`GA4 export ${table.files.join(', ')}: ${err.message}`, err.result);
    throw err;
  }
}
