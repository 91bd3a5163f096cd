import { sqlString } from '../../../warehouse/values.ts';
import type { FileFormat } from './discover.ts';

/**
 * DuckDB reader SQL for a list of files of one format. CSV is read as text so that validation, not the
 * sniffer, decides what a bad value is; `_source` carries the file each row came from.
 */
export function readerSql(format: FileFormat, paths: string[]): string {
  const list = `[${paths.map(sqlString).join(', ')}]`;
  switch (format) {
    case 'csv':
      return `SELECT * EXCLUDE (filename), filename AS _source FROM read_csv(${list}, header = true, all_varchar = true, union_by_name = true, filename = true)`;
    case 'json':
      return `SELECT * EXCLUDE (filename), filename AS _source FROM read_json(${list}, format = 'auto', union_by_name = true, filename = true)`;
    case 'parquet':
      return `SELECT * EXCLUDE (filename), filename AS _source FROM read_parquet(${list}, union_by_name = true, filename = true)`;
  }
}

/** One file's columns, read from its header or schema only (a CSV's dialect is sniffed from its first rows). */
export function singleFileSql(format: FileFormat, path: string): string {
  if (format === 'csv') {
    return `SELECT * EXCLUDE (filename), filename AS _source FROM read_csv([${sqlString(path)}], header = true, all_varchar = true, filename = true, sample_size = 2048)`;
  }
  return readerSql(format, [path]);
}
