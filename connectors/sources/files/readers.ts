import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import {
  type CsvDialect,
  csvReaderSql,
  csvUnreadSql,
  dialectOf,
  type RejectTables,
  sniffSql,
} from './csv.ts';
import type { SourceFile } from './discover.ts';
import { jsonDocumentSql, jsonLinesSql, jsonShapeSql } from './json-lines.ts';

/**
 * How DuckDB reads the files of the source. CSV and JSON values are read as text, so that the ingest's casts
 * decide what a bad value is and quarantine its row; a type guessed from a sample would instead turn one odd value
 * into a failed file. A row the reader itself cannot read (a CSV row with too many fields, a JSON line that is not
 * an object) is quarantined too, naming its line (csv.ts, json-lines.ts).
 */

/** How a file is read: files read together share these. */
export type ReadOptions =
  | { format: 'csv'; dialect: CsvDialect }
  /**
   * document: one JSON array or pretty-printed object, read whole (a malformed one fails its table); numbered:
   * JSON lines with a bad line, read with line numbers.
   */
  | { format: 'json'; document: boolean; numbered: boolean }
  | { format: 'parquet' };

export interface FileShape {
  /** Column names as written, with DuckDB types (text for CSV and JSON). */
  columns: Map<string, string>;
  read: ReadOptions;
}

type Select = ReadonlyArray<readonly [source: string, column: string]>;

/** One file's columns and how to read it, from its header, its first lines or its schema. */
export async function describeFile(wh: Warehouse, file: SourceFile): Promise<FileShape> {
  const text = (names: string[]) => new Map(names.map((c) => [c, 'VARCHAR']));
  switch (file.format) {
    case 'csv': {
      const dialect = dialectOf((await wh.one(sniffSql(file.path))) ?? {});
      return { columns: text(dialect.columns), read: { format: 'csv', dialect } };
    }
    case 'json': {
      const document = (await wh.one<{ document: boolean }>(jsonDocumentSql(file.path)))?.document ?? false;
      if (document) {
        // sample_size = -1: every object's keys, not the first 20,480 objects' (a later key was never read).
        const keys = await wh.all<{ column_name: string }>(
          `DESCRIBE SELECT * FROM read_json([${sqlString(file.path)}], format = 'auto', records = true, sample_size = -1)`,
        );
        const columns = text(keys.map((k) => k.column_name));
        return { columns, read: { format: 'json', document, numbered: false } };
      }
      const shape = await wh.one<{ keys: string[]; bad: bigint | number }>(jsonShapeSql(file.path));
      const numbered = Number(shape?.bad ?? 0) > 0;
      return { columns: text(shape?.keys ?? []), read: { format: 'json', document, numbered } };
    }
    case 'parquet': {
      const rows = await wh.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM read_parquet([${sqlString(file.path)}])`,
      );
      const types = new Map(rows.map((r) => [r.column_name, r.column_type.toUpperCase()]));
      return { columns: types, read: { format: 'parquet' } };
    }
  }
}

/** Reader SQL for files that share how they are read and a column mapping (file column, table column). */
export function readerSql(read: ReadOptions, paths: string[], select: Select, rejects: RejectTables): string {
  const list = `[${paths.map(sqlString).join(', ')}]`;
  const columns = select.map(([source, column]) => `${sqlIdent(source)} AS ${sqlIdent(column)}`).join(', ');
  switch (read.format) {
    case 'csv':
      return csvReaderSql(paths, select, read.dialect, rejects);
    case 'json': {
      if (!read.document) return jsonLinesSql(paths, select, read.numbered);
      const text = select.map(([source]) => `${sqlString(source)}: 'VARCHAR'`).join(', ');
      return `SELECT ${columns}, filename AS _source
        FROM read_json(${list}, format = 'auto', records = true, columns = {${text}}, filename = true)`;
    }
    case 'parquet':
      return `SELECT ${columns}, filename AS _source FROM read_parquet(${list}, union_by_name = true, filename = true)`;
  }
}

/** SQL for the rows the reader skipped, to run after reading; undefined when this reader never skips rows. */
export function unreadSql(read: ReadOptions, select: Select, rejects: RejectTables): string | undefined {
  return read.format === 'csv' ? csvUnreadSql(select, read.dialect, rejects) : undefined;
}

/** Columns the reader adds for rows it could not read (JSON lines: `_error`, `_line`). */
export function readerColumns(read: ReadOptions): string[] {
  return read.format === 'json' && !read.document ? ['_error', '_line'] : [];
}
