import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { FileFormat } from './discover.ts';

/**
 * DuckDB reader SQL for files of one format that share one column mapping (file column, table column): columns
 * renamed to the table's, `_source` naming each row's file. CSV and JSON values are read as text, so that the
 * ingest's casts decide what a bad value is and quarantine its row; a type guessed from a sample would instead
 * turn one odd value into a failed file (a bad timestamp deep in a file) or a rejected table (one number
 * among timestamps makes the column JSON).
 */
export function readerSql(
  format: FileFormat,
  paths: string[],
  select: ReadonlyArray<readonly [source: string, column: string]>,
): string {
  const list = `[${paths.map(sqlString).join(', ')}]`;
  const columns = select.map(([source, column]) => `${sqlIdent(source)} AS ${sqlIdent(column)}`).join(', ');
  const from = (reader: string) => `SELECT ${columns}, filename AS _source FROM ${reader}`;
  switch (format) {
    case 'csv':
      return from(
        `read_csv(${list}, header = true, all_varchar = true, union_by_name = true, filename = true)`,
      );
    case 'json': {
      const text = select.map(([source]) => `${sqlString(source)}: 'VARCHAR'`).join(', ');
      // records = true: one non-object line must fail its line, not turn every line into one text column.
      return from(
        `read_json(${list}, format = 'auto', records = true, columns = {${text}}, filename = true)`,
      );
    }
    case 'parquet':
      return from(`read_parquet(${list}, union_by_name = true, filename = true)`);
  }
}

/** One file's columns, from its header or schema (a CSV's dialect is sniffed from its first rows, JSON's keys from a sample). */
export function describeSql(format: FileFormat, path: string): string {
  const file = `[${sqlString(path)}]`;
  switch (format) {
    case 'csv':
      return `DESCRIBE SELECT * FROM read_csv(${file}, header = true, all_varchar = true, sample_size = 2048)`;
    case 'json':
      return `DESCRIBE SELECT * FROM read_json(${file}, format = 'auto', records = true)`;
    case 'parquet':
      return `DESCRIBE SELECT * FROM read_parquet(${file})`;
  }
}
