import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

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
  [/unterminated quote/i, () => 'a quoted value is not closed'],
  [/Invalid unicode|not utf-8/i, () => 'not UTF-8 text (save the export as UTF-8)'],
  [/Malformed JSON/i, () => 'not valid JSON (one object per line)'],
  [
    /Expected OBJECT, but got|expected records, but got non-record/,
    () => 'a line holds JSON that is not an object',
  ],
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
 */
export async function readErrorMessage(fallbackPath: string, format: string, err: unknown): Promise<string> {
  const text = String((err as Error)?.message ?? err);
  const path =
    /(?:in|sniffing) file "([^"]+)"/.exec(text)?.[1] ?? /^\s*file = (.+)$/m.exec(text)?.[1] ?? fallbackPath;
  const line = /Malformed JSON|non-record|Expected OBJECT/.test(text)
    ? await firstLineNotAnObject(path).catch(() => undefined)
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

/**
 * The first line of a JSON lines file that is not a JSON object, counted from 1. DuckDB's own line number for
 * malformed JSON is off by one (and missing for the first line or a sampled line), so the error path reads the
 * file once more.
 */
export async function firstLineNotAnObject(path: string): Promise<number | undefined> {
  if (!/\.(jsonl|ndjson|json)(\.gz)?$/i.test(path)) return undefined;
  const input = createReadStream(path);
  const lines = createInterface({ input: path.endsWith('.gz') ? input.pipe(createGunzip()) : input });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (n === 1 && line.trimStart().startsWith('[')) return undefined; // a JSON array, not JSON lines
      if (line.trim() === '') continue;
      if (!isObject(line)) return n;
    }
  } finally {
    lines.close();
    input.destroy();
  }
  return undefined;
}

function isObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
