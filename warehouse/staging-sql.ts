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
