import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * How DuckDB stored each text column of `table`, after a checkpoint (compression is applied to a database file only):
 * column -> method, every method listed when the column's segments differ (e.g. 'Dictionary,FSST').
 */
export async function storedCompression(wh: Warehouse, table: string): Promise<Record<string, string>> {
  await wh.run('CHECKPOINT');
  const rows = await wh.all<{ column_name: string; compression: string }>(
    `SELECT column_name, string_agg(DISTINCT compression, ',' ORDER BY compression) AS compression
     FROM pragma_storage_info('${table}') WHERE segment_type = 'VARCHAR' GROUP BY column_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.column_name, r.compression]));
}
