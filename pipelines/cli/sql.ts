import type { RetargetConfig } from '../../config/config.ts';
import { UserError } from './errors.ts';
import { openForReading } from './read.ts';

/**
 * `retarget sql "<query>"`: the analyst's view of the DuckDB file without installing the duckdb shell. The file
 * is opened read-only, so a write statement is refused by DuckDB itself, whatever the query says.
 */

export interface SqlFlags {
  db?: string;
  json?: boolean;
  csv?: boolean;
  maxRows: number;
}

type Cell = string | number | boolean | null | object;

export async function sqlCommand(config: RetargetConfig, query: string, flags: SqlFlags): Promise<void> {
  if (flags.json && flags.csv) throw new UserError('--json and --csv: choose one output format');
  if (/^-\S*$/.test(query)) throw new UserError(`unknown option '${query}' (see retarget sql --help)`);
  const wh = await openForReading(config, flags.db);
  let columns: string[];
  let rows: Cell[][];
  let values: unknown[][];
  try {
    const reader = await wh.connection.runAndReadAll(query);
    columns = reader.columnNames();
    rows = reader.getRowsJson() as Cell[][]; // as DuckDB prints them: exact decimals, readable timestamps
    values = flags.json ? reader.getRowsJS() : [];
  } catch (err) {
    throw new UserError(sqlErrorMessage((err as Error).message), 1);
  } finally {
    wh.close();
  }
  if (flags.json) {
    const objects = values.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonValue(r[i])])));
    process.stdout.write(`${JSON.stringify(objects, null, 2)}\n`);
  } else if (flags.csv) {
    process.stdout.write(`${[columns, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`);
  } else {
    process.stdout.write(`${textTable(columns, rows.slice(0, flags.maxRows))}\n`);
    const more = rows.length - flags.maxRows;
    process.stdout.write(
      more > 0
        ? `(${rows.length} rows, first ${flags.maxRows} shown: --max-rows N, or --csv/--json for all)\n`
        : `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`,
    );
  }
}

/** DuckDB's message, with the read-only refusal said plainly (it is the expected outcome of a write). */
export function sqlErrorMessage(message: string): string {
  const first = message.split('\n')[0]!;
  const readOnly = /read-only mode/i.exec(first);
  if (readOnly) {
    const kind = /statement of type "(\w+)"/.exec(first)?.[1];
    return `sql only reads: the database is opened read-only, so ${kind ? `${kind} statements are` : 'writes are'} refused (${first})`;
  }
  return `query failed: ${first}`;
}

/** JSON numbers for integers that fit (counts are numbers, not strings); ISO strings for timestamps. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v === null || typeof v !== 'object' ? v : String(v);
}

const NUMBER = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

const display = (v: Cell): string =>
  v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** Plain-text table; columns whose values are all numbers are right-aligned. */
function textTable(columns: string[], rows: Cell[][]): string {
  const numeric = columns.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every(
        (r) => r[i] === null || typeof r[i] === 'number' || (typeof r[i] === 'string' && NUMBER.test(r[i])),
      ),
  );
  const cells = [columns, ...rows.map((r) => r.map(display))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** RFC 4180: quote a field holding a comma, quote or line break; double inner quotes. */
function csvField(v: Cell): string {
  const s = v === null ? '' : display(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
