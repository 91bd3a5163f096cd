import { BOOLEAN_SPELLINGS, type ColumnSpec, type TableSpec } from './table-specs.ts';
import { sqlIdent, sqlString } from './values.ts';

/**
 * The SELECT that stages a batch (ingest.ts) in one pass: per row its raw values, its values typed to the table's
 * spec, the reason it is rejected and the warning of a fail-closed value, from the relation's column types.
 */

/** The relation an ingest stages, and where its rows come from (the part of IngestOptions the SELECT reads). */
export interface StagingSource {
  /**
   * SQL yielding columns named like the table's (any subset, any castable types). May yield `_source` per row, and
   * for a row the reader could not read (a malformed line) `_error`, the reason it is rejected, and `_line`, its
   * text (kept in rejected_rows.raw beside whatever columns were recovered from it).
   */
  relationSql: string;
  /** Label for rejected_rows.source when the relation yields no `_source`. */
  source: string;
  /**
   * Every `_source` the relation yields, when known (e.g. the files read): the staged batch then keeps `_source` as
   * a one-byte ENUM of them instead of the text on every row (a file path costs ~80 bytes a row uncompressed: 1.5 GB
   * for 20M events, spilled to disk under a 1 GB memory limit). A `_source` not listed fails the load.
   */
  sources?: readonly string[];
}

export function stagingSql(
  spec: TableSpec,
  options: StagingSource,
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
function sourceEnum(options: StagingSource): string {
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

/**
 * Typed sources whose whole numbers are not written as such: FLOAT/DOUBLE, and DECIMAL with a scale. pandas writes
 * an integer id column as a double as soon as one value is missing, so an id 1001 arrives as 1001.0.
 */
const FRACTIONAL = /^(FLOAT|REAL|DOUBLE|DECIMAL\(\d+,\s*[1-9]\d*\))$/;

/**
 * Below this a FLOAT or DOUBLE holds every whole number exactly (2^24, 2^53); above, 10000000000000001 is stored as
 * 1e16, so the value read may be another than the one exported. DECIMAL is exact: no limit.
 */
function exactLimit(sourceType: string): string | undefined {
  if (/^(FLOAT|REAL)$/.test(sourceType)) return '2^24';
  if (sourceType === 'DOUBLE') return '2^53';
  return undefined;
}

/**
 * A FRACTIONAL value as a whole number (HUGEINT), NULL when it has a fraction or is beyond exactLimit. NaN and
 * ±Infinity fail the limit too: DuckDB orders NaN above every number.
 */
function wholeOf(r: string, sourceType: string): string {
  const limit = exactLimit(sourceType);
  return `CASE WHEN ${r} = trunc(${r})${limit ? ` AND abs(${r}) < ${limit}` : ''} THEN CAST(${r} AS HUGEINT) END`;
}

/**
 * Text to INTEGER, NULL unless a whole number: a cast to INTEGER rounds ('1.5' gives 2, '2.5' 3), so text with a
 * decimal point or an exponent is read as a double and kept only when whole ('2.0' and '1e2' are; '1.5' is not).
 * Plain digits, nearly every value, take the direct cast.
 */
function integerFromText(text: string): string {
  const asDouble = `TRY_CAST(${text} AS DOUBLE)`;
  return `CASE WHEN contains(${text}, '.') OR contains(${text}, 'e') OR contains(${text}, 'E')
               THEN CASE WHEN ${asDouble} = trunc(${asDouble}) THEN TRY_CAST(${asDouble} AS INTEGER) END
               ELSE TRY_CAST(${text} AS INTEGER) END`;
}

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
        // A whole number from a double is its integer text ('1001', not '1001.0'), so it joins the same id as text.
        expr =
          sourceType !== undefined && FRACTIONAL.test(sourceType)
            ? `CAST(${wholeOf(r, sourceType)} AS VARCHAR)`
            : textOf(c);
        break;
      case 'timestamp':
        expr = textual ? timestampFromText(textOf(c)) : `CAST(TRY_CAST(${r} AS TIMESTAMPTZ) AS TIMESTAMP)`;
        break;
      case 'decimal':
        expr = `TRY_CAST(${textual ? textOf(c) : r} AS DECIMAL(18, 4))`;
        break;
      case 'integer':
        // Whole numbers only: '3.0' (some exporters write counts as floats) is 3; 1.5 is not read (rejected).
        expr = textual
          ? integerFromText(textOf(c))
          : `TRY_CAST(${FRACTIONAL.test(sourceType!) ? wholeOf(r, sourceType!) : r} AS INTEGER)`;
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
  if (sourceType === undefined || c.unreadable) return checks;
  const unread = `${name} IS NULL AND ${textOf(c)} IS NOT NULL`;
  if (c.type === 'text' && FRACTIONAL.test(sourceType)) {
    const limit = exactLimit(sourceType);
    const why = ` (a ${sourceType} value read as text must be a whole number${limit ? ` below ${limit}` : ''})`;
    checks.push(`WHEN ${unread} THEN 'invalid ${c.name}: ' || left(${textOf(c)}, 100) || ${sqlString(why)}`);
  }
  if (c.type === 'integer') {
    const value = TEXTUAL.test(sourceType) ? `TRY_CAST(${textOf(c)} AS DOUBLE)` : rawName(c);
    const numeric = TEXTUAL.test(sourceType) || FRACTIONAL.test(sourceType);
    if (numeric)
      checks.push(
        `WHEN ${unread} AND ${value} <> trunc(${value}) THEN '${c.name} is not a whole number: ' || left(${textOf(c)}, 100)`,
      );
  }
  // A native decimal source still fails its cast when NaN, ±Infinity or too large for DECIMAL(18, 4).
  if (c.type !== 'text' && (!NATIVE[c.type].test(sourceType) || c.type === 'decimal')) {
    const what = c.type === 'timestamp' ? 'unparseable' : 'invalid';
    checks.push(`WHEN ${unread} THEN '${what} ${c.name}: ' || left(${textOf(c)}, 100)`);
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
