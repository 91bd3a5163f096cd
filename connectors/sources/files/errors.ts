/**
 * A problem with the source files that the user fixes in the export: the message names the file, the table and
 * the columns or line, never a cell value (values may be personal data and messages reach logs and alerts).
 */
export class FilesSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilesSourceError';
  }
}

/** DuckDB errors that come from a file's content (not from our SQL): these are the user's to fix. */
const CONTENT_ERROR = /^(Invalid Input|Conversion|IO) Error|^Binder Error: json_read expected records/;

/** What DuckDB's read errors mean, in words that carry no cell value. */
const READ_ERRORS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/Expected Number of Columns: (\d+) Found: (\d+)/, (m) => `a row has ${m[2]} fields, the header ${m[1]}`],
  [
    /Unterminated quote in file .* runs on/,
    () => 'a quoted value is not closed and runs on too far to quarantine',
  ],
  [/unterminated quote/i, () => 'a quoted value is not closed'],
  [/Invalid unicode|not utf-8/i, () => 'not UTF-8 text (save the export as UTF-8)'],
  [/Malformed JSON/i, () => 'not valid JSON'],
  [/Expected OBJECT, but got|expected records, but got non-record/, () => 'a record is not a JSON object'],
  [
    /Error when sniffing file/,
    () => 'no consistent CSV dialect (do all rows have as many fields as the header?)',
  ],
  [/magic bytes|not a parquet file/i, () => 'not a Parquet file'],
];

export function isContentError(err: unknown): boolean {
  return err instanceof Error && CONTENT_ERROR.test(err.message);
}

/**
 * A DuckDB read error as a message naming the file and line but no value: DuckDB quotes the offending line or
 * value ("Original Line: ..."), which may be a customer's personal data, and messages reach logs and alerts.
 * (Rows the readers skip never get here: they are quarantined. What does is a whole file: not UTF-8, a JSON
 * document that does not parse, a CSV dialect that cannot be made out.)
 */
export function readErrorMessage(fallbackPath: string, format: string, err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  const path =
    /(?:in|sniffing) file "([^"]+)"/.exec(text)?.[1] ?? /^\s*file = (.+)$/m.exec(text)?.[1] ?? fallbackPath;
  // DuckDB's line numbers within a JSON document are off by one, and missing for a sampled line: none is better.
  const line = /Malformed JSON|non-record|Expected OBJECT/.test(text)
    ? undefined
    : /(?:on Line:|in line|at line)\s*(\d+)/i.exec(text)?.[1];
  const known = READ_ERRORS.map(([re, say]) => {
    const m = re.exec(text);
    return m ? say(m) : undefined;
  }).find(Boolean);
  return `${path}: cannot be read as ${format}${line ? ` at line ${line}` : ''}: ${known ?? withoutQuoted(text)}`;
}

/**
 * The first line of a message with every quoted part elided and nothing after a line number: quotes, and the text
 * after "line N:", are where DuckDB puts values.
 */
function withoutQuoted(text: string): string {
  const first = (text.split('\n')[0] ?? '').replace(/"[^"]*"|'[^']*'/g, '…');
  return /^.*?line:? \d+/i.exec(first)?.[0] ?? first;
}
