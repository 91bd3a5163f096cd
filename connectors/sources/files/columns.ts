import { type RawTable, TABLE_SPECS } from '../../../warehouse/table-specs.ts';
import type { SourceFile } from './discover.ts';
import { FilesSourceError } from './errors.ts';

/**
 * Other names of contract columns that exports commonly use. Only these are accepted (any letter case), so a
 * column is never guessed into the wrong field; docs/analysts.md lists the same table.
 */
export const COLUMN_ALIASES: ReadonlyArray<{ table: RawTable; alias: string; column: string }> = [
  { table: 'customers', alias: 'email_address', column: 'email' },
  { table: 'customers', alias: 'phone_number', column: 'phone' },
  { table: 'customers', alias: 'zip_code', column: 'zip' },
  { table: 'customers', alias: 'postal_code', column: 'zip' },
  { table: 'order_items', alias: 'qty', column: 'quantity' },
];

/** How one file's columns become the table's: `select` pairs (file column, table column); `unknown` are dropped. */
export interface ColumnMapping {
  select: Array<[source: string, column: string]>;
  unknown: string[];
}

/**
 * Maps a file's columns onto its table's, by name in any letter case or by a listed alias. Fails naming the file
 * when two columns mean the same field or a required one is missing. A file none of whose columns is known is
 * almost always a CSV without a header row: its "column names" are then the first row's values, possibly personal
 * data, so that message names no found column (once one column is known, the first row is a header).
 */
export function mapColumns(file: SourceFile, sourceColumns: readonly string[]): ColumnMapping {
  const spec = TABLE_SPECS[file.table];
  const known = new Set(spec.columns.map((c) => c.name));
  const select: ColumnMapping['select'] = [];
  const unknown: string[] = [];
  for (const source of sourceColumns) {
    const name = source.trim().toLowerCase();
    const column = known.has(name)
      ? name
      : COLUMN_ALIASES.find((a) => a.table === file.table && a.alias === name)?.column;
    if (!column) {
      unknown.push(source);
      continue;
    }
    const twin = select.find(([, c]) => c === column);
    if (twin) {
      throw new FilesSourceError(
        `${file.path}: columns ${twin[0]} and ${source} both mean ${file.table}.${column}; keep one of them`,
      );
    }
    select.push([source, column]);
  }
  const required = spec.columns.filter((c) => c.mustExist).map((c) => c.name);
  if (select.length === 0) throw new FilesSourceError(noKnownColumn(file, required));
  const missing = required.filter((c) => !select.some(([, s]) => s === c));
  if (missing.length > 0) {
    throw new FilesSourceError(
      `${file.path}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for table ${file.table} ` +
        `(found: ${select.map(([s]) => s).join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''})`,
    );
  }
  return { select, unknown };
}

function noKnownColumn(file: SourceFile, required: string[]): string {
  const needs = `${required.join(', ')} (see docs/analysts.md for every column)`;
  return file.format === 'csv'
    ? `${file.path}: the first row looks like data, not a header: ${file.table} files need a header row with ${needs}`
    : `${file.path}: no column of table ${file.table} found: it needs ${needs}`;
}
