import { dropForgottenStaged } from './erasure.ts';
import { keySql, merge, type SourceTimes } from './merge.ts';
import {
  BOOLEAN_SPELLINGS,
  type ColumnSpec,
  type RawTable,
  TABLE_SPECS,
  type TableSpec,
} from './table-specs.ts';
import { sqlIdent, sqlString } from './values.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * The one way rows enter the raw tables, for every source: stage a relation in a single pass (typed values plus
 * a rejection reason per row), drop the rows of forgotten people, quarantine bad rows in rejected_rows, then merge
 * the good ones idempotently (merge.ts: the newest version of a key wins).
 */
export interface IngestOptions {
  table: RawTable;
  /**
   * SQL yielding columns named like the table's (any subset, any castable types). May yield `_source` per row, and
   * for a row the reader could not read (a malformed line) `_error`, the reason it is rejected, and `_line`, its
   * text (kept in rejected_rows.raw beside whatever columns were recovered from it).
   */
  relationSql: string;
  /**
   * Rows the reader skipped while reading the relation (e.g. DuckDB's CSV reject tables), shaped like it, with
   * `_error` set: read right after the relation and rejected with it, so they count toward the rejected share.
   */
  unreadSql?: string;
  params?: readonly unknown[];
  /** The relation's columns and DuckDB types when the caller already knows them (saves a DESCRIBE). */
  columns?: Map<string, string>;
  runId: string;
  /** Label for rejected_rows.source when the relation yields no `_source`. */
  source: string;
  /** Export time per `_source` (e.g. per file), which orders versions of a key; default: the load time. */
  exportedAt?: SourceTimes;
  /**
   * Every `_source` the relation yields, when known (e.g. the files read): the staged batch then keeps `_source` as
   * a one-byte ENUM of them instead of the text on every row (a file path costs ~80 bytes a row uncompressed: 1.5 GB
   * for 20M events, spilled to disk under a 1 GB memory limit). A `_source` not listed fails the load.
   */
  sources?: readonly string[];
  /** Delete target rows matching this predicate first, in the same transaction (re-pulled windows). */
  replace?: { where: string; params?: readonly unknown[] };
  /** Abort (merge nothing) when rejected rows exceed this share of rows read. Default 0.05. */
  maxRejectShare?: number;
  /** Runs inside the merge transaction, after the merge: bookkeeping that must land with the rows. */
  beforeCommit?: (result: IngestResult) => Promise<void>;
}

export interface IngestResult {
  table: RawTable;
  rowsRead: number;
  /** Rows inserted or replaced. */
  rowsLoaded: number;
  rowsRejected: number;
  /** Rows loaded with a fail-closed value for a value that could not be read (e.g. consent: none). */
  rowsFailedClosed: number;
  /** Rows of forgotten people (good or bad), dropped before anything else; not counted as read. */
  rowsForgotten: number;
  /** Rows read and rejected per `_source` (e.g. per file). */
  bySource: Array<{ source: string; rowsRead: number; rowsRejected: number }>;
}

export class IngestError extends Error {
  constructor(
    message: string,
    readonly result?: IngestResult,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

let stagingCounter = 0;

export async function ingestRelation(wh: Warehouse, options: IngestOptions): Promise<IngestResult> {
  const spec = TABLE_SPECS[options.table];
  const staging = `stg_${options.table}_${process.pid}_${++stagingCounter}`;
  const params = options.params ?? [];
  const sourceColumns = options.columns ?? (await describeColumns(wh, options.relationSql, params));
  // DuckDB loads faster and in less memory when it need not keep row order; it matters only when a file
  // repeats a key (its last row wins), so only such a batch is read again in order.
  await wh.run('SET preserve_insertion_order = false');
  try {
    const stage = async (ordered: boolean) => {
      await wh.run(
        `CREATE OR REPLACE TEMP TABLE ${sqlIdent(staging)} AS ${stagingSql(spec, options, sourceColumns, ordered)}`,
        params,
      );
      if (options.unreadSql) await stageUnread(wh, spec, options, options.unreadSql, staging);
    };
    await stage(false);
    // One aggregate over the batch when no key repeats (the usual case), two only when one does.
    const repeats = spec.merge !== 'distinct' && (await repeatsKey(wh, spec, staging, false));
    if (spec.merge === 'upsert' && repeats && (await repeatsKey(wh, spec, staging, true)))
      await orderedBy(wh, stage);
    const rowsForgotten = await dropForgottenStaged(wh, options.table, staging);
    const bySource = await wh.all<{
      source: string;
      rows_read: bigint;
      rows_rejected: bigint;
      warned: bigint;
    }>(
      `SELECT CAST(_source AS VARCHAR) AS source, count(*) AS rows_read, count(_reason) AS rows_rejected, count(_warning) AS warned
       FROM ${sqlIdent(staging)} GROUP BY _source ORDER BY _source`,
    );
    const result: IngestResult = {
      table: options.table,
      rowsRead: bySource.reduce((n, r) => n + Number(r.rows_read), 0),
      rowsLoaded: 0,
      rowsRejected: bySource.reduce((n, r) => n + Number(r.rows_rejected), 0),
      rowsFailedClosed: bySource.reduce((n, r) => n + Number(r.warned), 0),
      rowsForgotten,
      bySource: bySource.map((r) => ({
        source: r.source,
        rowsRead: Number(r.rows_read),
        rowsRejected: Number(r.rows_rejected),
      })),
    };
    const maxShare = options.maxRejectShare ?? 0.05;
    // Rows loaded with a fail-closed value are recorded too (their reason says so), but only when they load.
    const quarantine = (
      warnings: boolean,
    ) => `INSERT INTO rejected_rows (table_name, reason, raw, run_id, source, rejected_at)
      SELECT ${sqlString(spec.name)}, COALESCE(_reason, _warning), _raw, $1, _source, now()::TIMESTAMP
      FROM ${sqlIdent(staging)} WHERE _reason IS NOT NULL ${warnings ? 'OR _warning IS NOT NULL' : ''}`;
    if (result.rowsRead > 0 && result.rowsRejected / result.rowsRead > maxShare) {
      // Keep the evidence, load nothing: a file this broken is more likely a wrong export than a few bad rows.
      await wh.run(quarantine(false), [options.runId]);
      throw new IngestError(
        `${spec.name}: ${result.rowsRejected} of ${result.rowsRead} rows rejected ` +
          `(${pct(result.rowsRejected / result.rowsRead)} > ${pct(maxShare)} allowed); nothing loaded. ` +
          `See: SELECT reason, raw, source FROM rejected_rows WHERE run_id = '${options.runId}'`,
        result,
      );
    }
    await wh.transaction(async () => {
      if (result.rowsRejected + result.rowsFailedClosed > 0) await wh.run(quarantine(true), [options.runId]);
      if (options.replace)
        await wh.run(
          `DELETE FROM ${sqlIdent(spec.name)} WHERE ${options.replace.where}`,
          options.replace.params ?? [],
        );
      result.rowsLoaded = await merge(wh, spec, staging, options.exportedAt ?? new Map(), repeats);
      await options.beforeCommit?.(result);
    });
    return result;
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(staging)}`);
    await wh.run('RESET preserve_insertion_order');
  }
}

/** Adds the rows the reader skipped to the staged batch, as rejected rows. */
async function stageUnread(
  wh: Warehouse,
  spec: TableSpec,
  options: IngestOptions,
  unreadSql: string,
  staging: string,
): Promise<void> {
  const unread = { ...options, relationSql: unreadSql };
  await wh.run(
    `INSERT INTO ${sqlIdent(staging)} BY NAME SELECT * FROM (${stagingSql(spec, unread, await describeColumns(wh, unreadSql), false)})`,
  );
}

/** True when the batch's good rows hold a key more than once (inOneSource: within one source, e.g. a file). */
async function repeatsKey(
  wh: Warehouse,
  spec: TableSpec,
  staging: string,
  inOneSource: boolean,
): Promise<boolean> {
  const key = [keySql(spec), ...(inOneSource ? ['_source'] : [])].join(', ');
  return (
    (await wh.scalar(
      `SELECT count(*) FROM (SELECT 1 FROM ${sqlIdent(staging)} WHERE _reason IS NULL GROUP BY ${key} HAVING count(*) > 1 LIMIT 1)`,
    )) > 0
  );
}

/** Stages again with each row's position (`_pos`), which needs the source read in order. */
async function orderedBy(wh: Warehouse, stage: (ordered: boolean) => Promise<void>): Promise<void> {
  await wh.run('SET preserve_insertion_order = true');
  try {
    await stage(true);
  } finally {
    await wh.run('SET preserve_insertion_order = false');
  }
}

/** Column names and DuckDB types of a relation, without reading it. */
export async function describeColumns(
  wh: Warehouse,
  relationSql: string,
  params: readonly unknown[] = [],
): Promise<Map<string, string>> {
  const rows = await wh.all<{ column_name: string; column_type: string }>(`DESCRIBE ${relationSql}`, params);
  return new Map(rows.map((r) => [r.column_name.toLowerCase(), r.column_type.toUpperCase()]));
}

/** Columns a source must have but lacks. */
export function missingColumns(table: RawTable, columns: Iterable<string>): string[] {
  const have = new Set([...columns].map((c) => c.toLowerCase()));
  return TABLE_SPECS[table].columns.filter((c) => c.mustExist && !have.has(c.name)).map((c) => c.name);
}

function stagingSql(
  spec: TableSpec,
  options: IngestOptions,
  sourceTypes: Map<string, string>,
  ordered: boolean,
): string {
  const present = spec.columns.filter((c) => sourceTypes.has(c.name));
  const raw = spec.columns.map(
    (c) => `${sourceTypes.has(c.name) ? `src.${sqlIdent(c.name)}` : 'NULL'} AS ${rawName(c)}`,
  );
  const text = sourceTypes.has('_source') ? 'CAST(src._source AS VARCHAR)' : sqlString(options.source);
  const source = options.sources?.length ? `CAST(${text} AS ${sourceEnum(options)})` : text;
  const typed = spec.columns.map((c) => `${typedExpr(c, sourceTypes.get(c.name))} AS ${sqlIdent(c.name)}`);
  const checks = spec.columns.flatMap((c) => rejectChecks(c, sourceTypes.get(c.name)));
  if (spec.name === 'events') {
    checks.push(`WHEN customer_id IS NULL AND anonymous_id IS NULL THEN 'no customer_id or anonymous_id'`);
    checks.push(`WHEN event_count <= 0 THEN 'event_count must be positive: ' || event_count`);
  }
  if (spec.name === 'order_items')
    checks.push(`WHEN quantity <= 0 THEN 'quantity must be positive: ' || quantity`);
  // A row the reader could not read is rejected for that, whatever its (recovered) values say.
  const unreadable = sourceTypes.has('_error');
  if (unreadable) checks.unshift('WHEN _error IS NOT NULL THEN _error');
  const reason = checks.length ? `CASE ${checks.join(' ')} END` : 'NULL::VARCHAR';
  const warnings = spec.columns.flatMap((c) => failClosedChecks(c, sourceTypes.get(c.name)));
  if (unreadable && warnings.length) warnings.unshift('WHEN _error IS NOT NULL THEN NULL');
  const warning = warnings.length ? `CASE ${warnings.join(' ')} END` : 'NULL::VARCHAR';
  // Position in the batch, which keeps each file's rows in order (only when read in order).
  const pos = ordered ? 'row_number() OVER ()' : 'NULL::BIGINT';
  const rawPairs = present.map((c) => `${sqlString(c.name)}, ${rawName(c)}`);
  const rawJson = `json_object(${rawPairs.join(', ')})`;
  // A line the reader could not read is kept as written too (its columns are only what could be recovered).
  const rawOf = sourceTypes.has('_line')
    ? `CASE WHEN _line IS NULL THEN ${rawJson} ELSE json_object(${[...rawPairs, `'line', _line`].join(', ')}) END`
    : rawJson;
  // What identifies a version of a record: its values (a re-read old file has the same ones).
  const fingerprint = spec.versioned
    ? `, md5(concat_ws(chr(31), ${spec.columns
        .map((c) => `COALESCE(CAST(${sqlIdent(c.name)} AS VARCHAR), chr(30))`)
        .join(', ')})) AS _fingerprint`
    : '';
  // Only an event without an event_id needs a key of its own (migration 0043): a copy of every event_id made the
  // staged batch and the stored events a fifth wider, and the write of 20M events half as slow again.
  const eventKey =
    spec.name === 'events'
      ? `, CASE WHEN event_id IS NULL THEN 'h:' || md5(concat_ws(chr(31), ${spec.columns
          .filter((c) => c.name !== 'event_id')
          .map((c) => `COALESCE(CAST(${sqlIdent(c.name)} AS VARCHAR), chr(30))`)
          .join(', ')})) END AS event_key`
      : '';
  return `
    WITH src AS (${options.relationSql}),
    raw AS (SELECT ${raw.join(', ')}, ${source} AS _source, ${pos} AS _pos${readerErrors(sourceTypes)} FROM src),
    typed AS (SELECT raw.*, ${typed.join(', ')} FROM raw),
    checked AS (SELECT typed.*, ${reason} AS _reason, ${warning} AS _warning FROM typed)
    SELECT ${spec.columns.map((c) => sqlIdent(c.name)).join(', ')}${eventKey}${fingerprint}, _source, _pos, _reason, _warning,
      CASE WHEN _reason IS NOT NULL OR _warning IS NOT NULL THEN CAST(${rawOf} AS VARCHAR) END AS _raw
    FROM checked`;
}

/**
 * The batch's sources as an ENUM type, listed in byte order so that ordering by `_source` (the later file name
 * wins, merge.ts) is the same as ordering the text.
 */
function sourceEnum(options: IngestOptions): string {
  const names = [...new Set([...(options.sources ?? []), options.source])];
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `ENUM(${names.map(sqlString).join(', ')})`;
}

/** The reader's own columns for a row it could not read, when the relation has them. */
function readerErrors(sourceTypes: Map<string, string>): string {
  return ['_error', '_line']
    .filter((c) => sourceTypes.has(c))
    .map((c) => `, CAST(src.${c} AS VARCHAR) AS ${c}`)
    .join('');
}

function rawName(c: ColumnSpec): string {
  return sqlIdent(`raw$${c.name}`);
}

const TEXTUAL = /^(VARCHAR|JSON|BLOB)/;
/** Source types that already are the target type: no cast, no parse check. */
const NATIVE: Record<ColumnSpec['type'], RegExp> = {
  text: /^VARCHAR$/,
  timestamp: /^TIMESTAMP$/,
  decimal: /^(DECIMAL|DOUBLE|FLOAT|REAL|INTEGER|BIGINT|SMALLINT|TINYINT|HUGEINT)/,
  integer: /^(INTEGER|SMALLINT|TINYINT)$/,
  boolean: /^BOOLEAN$/,
};

/** The raw value as text, NULL when empty or blank. */
function textOf(c: ColumnSpec): string {
  // Most values need no trimming: test cheaply before paying for trim() on every row. The test compares bytes
  // (a space is one byte in UTF-8): v[1] and v[-1] decode characters, which cost more than the rest of the typing.
  const v = `CAST(${rawName(c)} AS VARCHAR)`;
  return `CASE WHEN ${v} = '' THEN NULL WHEN starts_with(${v}, ' ') OR ends_with(${v}, ' ') THEN NULLIF(trim(${v}), '') ELSE ${v} END`;
}

function typedExpr(c: ColumnSpec, sourceType: string | undefined): string {
  const expr = parsedExpr(c, sourceType);
  if (!c.default && !c.unreadable) return expr;
  const absent = c.default ? `WHEN ${isAbsent(c, sourceType)} THEN ${c.default}` : '';
  const unreadable = c.unreadable ? `WHEN NOT (${isAbsent(c, sourceType)}) THEN ${c.unreadable}` : '';
  return `COALESCE(${expr}, CASE ${absent} ${unreadable} END)`;
}

/** The value in the column's type, NULL when absent or unreadable. */
function parsedExpr(c: ColumnSpec, sourceType: string | undefined): string {
  const r = rawName(c);
  const textual = sourceType === undefined || TEXTUAL.test(sourceType);
  let expr: string;
  if (sourceType !== undefined && c.type !== 'text' && NATIVE[c.type].test(sourceType)) {
    expr = c.type === 'decimal' ? `TRY_CAST(${r} AS DECIMAL(18, 4))` : r;
  } else {
    switch (c.type) {
      case 'text':
        expr = textOf(c);
        break;
      case 'timestamp':
        expr = textual ? timestampFromText(textOf(c)) : `CAST(TRY_CAST(${r} AS TIMESTAMPTZ) AS TIMESTAMP)`;
        break;
      case 'decimal':
        expr = `TRY_CAST(${textual ? textOf(c) : r} AS DECIMAL(18, 4))`;
        break;
      case 'integer':
        expr = textual
          ? // '3' parses directly; '3.0' (some exporters write counts as floats) takes the slower path.
            `COALESCE(TRY_CAST(${textOf(c)} AS INTEGER), TRY_CAST(TRY_CAST(${textOf(c)} AS DOUBLE) AS INTEGER))`
          : `TRY_CAST(${r} AS INTEGER)`;
        break;
      case 'boolean':
        expr = textual
          ? `CASE WHEN lower(${textOf(c)}) IN (${BOOLEAN_SPELLINGS.true.map(sqlString).join(', ')}) THEN true
                  WHEN lower(${textOf(c)}) IN (${BOOLEAN_SPELLINGS.false.map(sqlString).join(', ')}) THEN false END`
          : `TRY_CAST(${r} AS BOOLEAN)`;
        break;
    }
  }
  return expr;
}

/**
 * Text to a UTC TIMESTAMP. Values without an offset parse with the plain (fast) TIMESTAMP cast, read as UTC; values
 * with an offset or a zone name go through TIMESTAMPTZ, which converts them to UTC (TIMESTAMP would drop the offset).
 */
function timestampFromText(text: string): string {
  const viaZone = `CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP)`;
  const time = `substr(${text}, 11)`;
  return `CASE WHEN NOT contains(${time}, '+') AND NOT contains(${time}, '-')
               THEN COALESCE(TRY_CAST(${text} AS TIMESTAMP), ${viaZone}) ELSE ${viaZone} END`;
}

/** SQL true when the raw value is absent (NULL, or empty text). */
function isAbsent(c: ColumnSpec, sourceType: string | undefined): string {
  return sourceType !== undefined && !TEXTUAL.test(sourceType)
    ? `${rawName(c)} IS NULL`
    : `${textOf(c)} IS NULL`;
}

function rejectChecks(c: ColumnSpec, sourceType: string | undefined): string[] {
  const name = sqlIdent(c.name);
  const checks: string[] = [];
  if (c.required) checks.push(`WHEN ${isAbsent(c, sourceType)} THEN 'missing ${c.name}'`);
  if (c.type !== 'text' && !c.unreadable && sourceType !== undefined && !NATIVE[c.type].test(sourceType)) {
    const what = c.type === 'timestamp' ? 'unparseable' : 'invalid';
    checks.push(
      `WHEN ${name} IS NULL AND ${textOf(c)} IS NOT NULL THEN '${what} ${c.name}: ' || left(${textOf(c)}, 100)`,
    );
  }
  return checks;
}

/** Present values that cannot be read, for columns that load a fail-closed value instead of rejecting the row. */
function failClosedChecks(c: ColumnSpec, sourceType: string | undefined): string[] {
  if (!c.unreadable || sourceType === undefined) return [];
  const shown = sourceType && !TEXTUAL.test(sourceType) ? `CAST(${rawName(c)} AS VARCHAR)` : textOf(c);
  return [
    `WHEN ${parsedExpr(c, sourceType)} IS NULL AND NOT (${isAbsent(c, sourceType)})
     THEN 'unreadable ${c.name}, loaded as ${c.unreadable}: ' || left(${shown}, 100)`,
  ];
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
