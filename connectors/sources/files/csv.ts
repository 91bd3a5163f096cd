import { sqlIdent, sqlString } from '../../../warehouse/values.ts';

/**
 * CSV files are read with the dialect sniffed from each file's first rows, tolerating rows that do not fit it, and
 * DuckDB's reader skips a row it cannot read (too many or too few fields, an unclosed quote, bytes that are not
 * UTF-8) into its reject tables instead of failing the file; those rows come back as quarantined rows naming
 * their line. Values are read as text (the ingest's casts decide what a bad value is).
 */

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  comment: string;
  skip: number;
  /** The header's names, in order. */
  columns: string[];
}

/** Where DuckDB puts the rows a read skipped: temporary tables, one pair per read. */
export interface RejectTables {
  errors: string;
  scans: string;
}

/**
 * A file's dialect and header. A few rows that do not fit must not make another dialect win: ignore_errors alone
 * lets one unclosed quote among quoted values pick no quote (every quoted row then splits wrongly), with
 * strict_mode off the sniffer keeps the quote. The rows are read in strict mode, so such a row is still rejected.
 */
export function sniffSql(path: string): string {
  return `SELECT Delimiter AS delimiter, Quote AS quote, Escape AS escape, Comment AS comment, SkipRows AS skip,
      [c.name FOR c IN Columns] AS columns
    FROM sniff_csv(${sqlString(path)}, header = true, ignore_errors = true, strict_mode = false)`;
}

export function dialectOf(row: Record<string, unknown>): CsvDialect {
  // sniff_csv spells "none" as '(empty)'.
  const text = (v: unknown) => (v === '(empty)' || v == null ? '' : String(v));
  const quote = text(row.quote);
  return {
    delimiter: text(row.delimiter),
    quote,
    // No escape found means RFC 4180's doubled quote ("13"" screen"); read with no escape, every such value would
    // look like an unclosed quote and be quarantined.
    escape: text(row.escape) || quote,
    comment: text(row.comment),
    skip: Number(row.skip ?? 0),
    columns: (row.columns as string[]).map(String),
  };
}

/** The files' rows, read with one dialect: columns renamed to the table's, `_source` naming each row's file. */
export function csvReaderSql(
  paths: string[],
  select: ReadonlyArray<readonly [source: string, column: string]>,
  dialect: CsvDialect,
  rejects: RejectTables,
): string {
  const list = `[${paths.map(sqlString).join(', ')}]`;
  const header = dialect.columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  const columns = select.map(([source, column]) => `${sqlIdent(source)} AS ${sqlIdent(column)}`).join(', ');
  return `SELECT ${columns}, filename AS _source FROM read_csv(${list}, auto_detect = false, header = true,
    delim = ${sqlString(dialect.delimiter)}, quote = ${sqlString(dialect.quote)}, escape = ${sqlString(dialect.escape)},
    comment = ${sqlString(dialect.comment)}, skip = ${dialect.skip}, columns = {${header}},
    ignore_errors = true, store_rejects = true, rejects_table = ${sqlString(rejects.errors)},
    rejects_scan = ${sqlString(rejects.scans)}, filename = true)`;
}

/**
 * The rows a read skipped, once each (DuckDB records one error per extra or missing field, and a second read of
 * the same files adds its own): `_source`, `_error` (what is wrong, at which line), `_line` (the text as read) and
 * the selected fields split from it by position (best effort, so that an erasure finds the row).
 */
export function csvUnreadSql(
  select: ReadonlyArray<readonly [source: string, column: string]>,
  dialect: CsvDialect,
  rejects: RejectTables,
): string {
  const fields = select.map(([source, column]) => {
    const at = dialect.columns.indexOf(source) + 1;
    const field = `string_split(_line, ${sqlString(dialect.delimiter)})[${at}]`;
    return `NULLIF(trim(${dialect.quote ? `trim(${field}, ${sqlString(dialect.quote)})` : field}), '') AS ${sqlIdent(column)}`;
  });
  return `SELECT ${fields.join(', ')}, _source, ${reasonSql(dialect.columns.length)} AS _error, _line
    FROM (SELECT *, rtrim(unnest(${physicalLines}), chr(13)) AS _line, generate_subscripts(${physicalLines}, 1) AS k
      FROM (
        SELECT s.file_path AS _source, e.line, arg_min(e.error_type, e.byte_position) AS kind,
          max(found) FILTER (WHERE e.error_type = 'TOO MANY COLUMNS') AS most,
          min(found) FILTER (WHERE e.error_type = 'MISSING COLUMNS') AS least,
          trim(arg_min(e.csv_line, e.byte_position), chr(10) || chr(13)) AS text
        FROM (SELECT *, TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS INTEGER) AS found
              FROM ${sqlIdent(rejects.errors)}) e
        JOIN ${sqlIdent(rejects.scans)} s USING (scan_id, file_id)
        GROUP BY s.file_path, e.line))`;
}

/** How much of a skipped row's text DuckDB keeps: past it, what an unclosed quote swallowed is unknown. */
const KEPT_TEXT = 10000;

/**
 * A skipped row as the physical lines it spans. An unclosed quote runs into the lines after it, up to the next
 * quote or the end of the file: each of those lines counts as rejected, so a quote that swallows much of a file
 * fails the table over the limit instead of losing lines unseen. When DuckDB kept only part of the text, the span
 * is unknown and the read fails.
 */
const physicalLines = `CASE WHEN kind <> 'UNQUOTED VALUE' THEN [text]
    WHEN length(text) < ${KEPT_TEXT} THEN string_split(text, chr(10))
    ELSE [error('Unterminated quote in file "' || _source || '" at line ' || line || ': it runs on for more than ${KEPT_TEXT} characters')::VARCHAR] END`;

/** What DuckDB's error types mean, and where, in words that carry no value. */
function reasonSql(headerFields: number): string {
  const fields = (n: string) =>
    `'CSV row has ' || ${n} || CASE WHEN ${n} = 1 THEN ' field' ELSE ' fields' END || ', the header ${headerFields}, '`;
  return `CASE kind
      WHEN 'TOO MANY COLUMNS' THEN ${fields('most')}
      WHEN 'MISSING COLUMNS' THEN ${fields('least')}
      WHEN 'UNQUOTED VALUE' THEN CASE WHEN k = 1 THEN 'unclosed quote (or text after a closing quote) '
        ELSE 'line ' || (line + k - 1) || ' inside the unclosed quote ' END
      WHEN 'LINE SIZE OVER MAXIMUM' THEN 'CSV row too long '
      WHEN 'INVALID ENCODING' THEN 'not UTF-8 text '
      WHEN 'INVALID UNICODE' THEN 'not UTF-8 text '
      ELSE 'unreadable CSV row (' || lower(kind) || ') ' END || 'at line ' || line`;
}
