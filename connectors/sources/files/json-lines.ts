import { sqlIdent, sqlString } from '../../../warehouse/values.ts';

/**
 * JSON lines are read one line at a time, so that a line that is not a JSON object (malformed, cut off, an array)
 * quarantines its own row, with its line number, instead of failing its table. DuckDB's CSV reader only splits the
 * lines (a NUL delimiter, no quote or escape: each line's text arrives as written); each line is checked and parsed
 * in SQL. JSON values are read as text (the ingest's casts decide what a bad value is).
 */

/** Every line of the files as text (`line`, NULL when empty), with `filename` and `file_index`. */
function linesOf(paths: string[]): string {
  const list = `[${paths.map(sqlString).join(', ')}]`;
  // strict_mode = false: a stray NUL cuts its line short (which then is malformed JSON) instead of failing the file.
  // (A larger max_line_size than the default 2 MB halves the read speed.)
  return `read_csv(${list}, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false, delim = chr(0),
    quote = '', escape = '', strict_mode = false, filename = true)`;
}

/** The line when it is valid JSON, else NULL (json_valid is cheaper than a cast to JSON). */
const VALID = 'CASE WHEN json_valid(line) THEN line END';

/** True for a line of JSON whitespace only: not a row (JSON lines writers often end with one). */
const BLANK = `ltrim(line, ' ' || chr(9) || chr(13)) = ''`;

/**
 * Each line with its number in its own file (`line_no`, from 1, blank lines counted). The numbering windows stream
 * (no partition, no order), which reads the files in order, one after the other; a file starts where its index
 * changes.
 */
function numberedLines(paths: string[]): string {
  return `SELECT line, filename,
      n + 1 - max(CASE WHEN prev IS DISTINCT FROM file_index THEN n END) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS line_no
    FROM (SELECT line, filename, file_index, row_number() OVER () AS n, lag(file_index) OVER () AS prev
          FROM ${linesOf(paths)})`;
}

/**
 * The files' rows: columns renamed to the table's, `_source` naming each row's file. A line that is not a JSON
 * object yields `_error` (what is wrong, at which line) and `_line` (its text), and whatever of the selected
 * fields can still be found in it, so that an erasure finds the quarantined row like any other.
 */
export function jsonLinesSql(
  paths: string[],
  select: ReadonlyArray<readonly [source: string, column: string]>,
  numbered: boolean,
): string {
  // Numbering streams the files through one thread: only files known to hold a bad line pay for it.
  const lines = numbered
    ? numberedLines(paths)
    : `SELECT line, filename, NULL AS line_no FROM ${linesOf(paths)}`;
  const structure = `{${select.map(([source]) => `${JSON.stringify(source)}: "VARCHAR"`).join(', ')}}`;
  const columns = select.map(
    ([source, column]) =>
      `CASE WHEN _error IS NULL THEN s.${sqlIdent(source)} ELSE ${recovered(source)} END AS ${sqlIdent(column)}`,
  );
  // Parsing happens on text known to be a JSON object (or NULL): the optimizer may evaluate a CASE's branches for
  // every row, so a guard must sit inside the function's argument, not around it.
  return `SELECT ${columns.join(', ')}, filename AS _source, _error, _line FROM (
    SELECT filename, CASE WHEN NOT ok THEN line END AS _line,
      json_transform(CASE WHEN ok THEN j END, ${sqlString(structure)}) AS s,
      CASE WHEN NOT ok THEN CASE WHEN j IS NULL THEN 'malformed JSON' ELSE 'JSON that is not an object' END
        || ' at line ' || COALESCE(CAST(line_no AS VARCHAR), '?') END AS _error
    FROM (SELECT *, COALESCE(json_type(j) = 'OBJECT', false) AS ok
          FROM (SELECT *, ${VALID} AS j FROM (${lines})))
    WHERE ok OR NOT ${BLANK})`;
}

/**
 * A field's value in a line that is not valid JSON, found by pattern: a string or a bare number (ids are often
 * numbers). Best effort, for erasure; the line's text is kept whole beside it.
 */
function recovered(key: string): string {
  const name = `"${JSON.stringify(key)
    .slice(1, -1)
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:\\s*`;
  const text = `NULLIF(regexp_extract(_line, ${sqlString(`${name}"((?:[^"\\\\]|\\\\.)*)"`)}, 1), '')`;
  const number = `NULLIF(regexp_extract(_line, ${sqlString(`${name}(-?[0-9][^,}\\s]*)`)}, 1), '')`;
  return `COALESCE(${text}, ${number})`;
}

/**
 * A JSON lines file's keys and how many of its lines may not be JSON objects, in one parallel pass over every line
 * (`keys`: in order of their first position in a line, then by name; `bad`: a count). Every line's keys are read,
 * not a sample's: a key first seen after the sample (an optional product_id, late in a big event file) was
 * otherwise never read nor reported. The cost, measured on 2M event lines (290 MB, 2 threads): ~5.4 s where the
 * sampled keys and a separate bad-line count took ~2.1 s, in a load of ~25 s; read_json's own full-file sample
 * costs as much and fails on a malformed line. Lines with the same keys are grouped first, so the key lists of
 * 2M lines become a few. An object line that starts with a space counts as bad, which only makes the file read
 * numbered; the keys of a line that is valid JSON but not an object are none (json_keys gives []).
 */
export function jsonShapeSql(path: string): string {
  // try(): a malformed line has no keys (NULL) instead of failing the file; it is quarantined when read.
  return `WITH shapes AS (
      SELECT keys, sum(CASE WHEN (keys IS NULL OR NOT starts_with(line, '{')) AND NOT ${BLANK} THEN 1 ELSE 0 END) AS bad
      FROM (SELECT line, try(json_keys(line)) AS keys FROM ${linesOf([path])}) GROUP BY keys),
    positions AS (
      SELECT key, min(pos) AS pos FROM (SELECT unnest(keys) AS key, generate_subscripts(keys, 1) AS pos FROM shapes)
      GROUP BY key)
    SELECT COALESCE((SELECT list(key ORDER BY pos, key) FROM positions), []) AS keys,
      (SELECT COALESCE(sum(bad), 0) FROM shapes) AS bad`;
}

/**
 * True when a JSON file is one JSON document (an array, or an object spread over lines as pretty-printers write
 * it) rather than JSON lines: its first non-blank line starts an array or is a lone `{`.
 */
export function jsonDocumentSql(path: string): string {
  return `SELECT starts_with(ltrim(line), '[') OR trim(line) = '{' AS document
    FROM (SELECT line, row_number() OVER () AS n FROM ${linesOf([path])} LIMIT 100)
    WHERE NOT ${BLANK} ORDER BY n LIMIT 1`;
}
