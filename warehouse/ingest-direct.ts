import type { IngestOptions, IngestResult } from './ingest.ts';
import { mergeEvents } from './merge.ts';
import type { TableSpec } from './table-specs.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * Events straight from the checked relation, without staging them: on a big first load the staged copy of every
 * event (20M rows at the bench's scale 1) spilled gigabytes to disk under a 1 GB memory limit, and was read three
 * more times. Parquet files are cheap to read again, so the relation is read for its counts, for repeated keys,
 * and once more by the insert. Only when nothing needs the staged batch: no row to quarantine or to load
 * fail-closed, no rows the reader skipped (CSV), nobody forgotten (the drop works on a staged batch), no window
 * to replace. Otherwise (undefined) the caller stages as usual, and nothing was written.
 */
export async function ingestDirect(
  wh: Warehouse,
  spec: TableSpec,
  options: IngestOptions,
  checkedSql: string,
  readerColumns: ReadonlySet<string>,
): Promise<IngestResult | undefined> {
  if (spec.merge !== 'events' || options.unreadSql || options.replace || options.params?.length) return;
  if (readerColumns.has('_error')) return;
  if ((await wh.scalar('SELECT count(*) FROM forgotten_customers')) > 0) return;
  const batch = `(${checkedSql}) batch`;
  const bySource = await wh.all<{ source: string; rows_read: bigint; problems: bigint }>(
    `SELECT CAST(_source AS VARCHAR) AS source, count(*) AS rows_read, count(_reason) + count(_warning) AS problems
     FROM ${batch} GROUP BY ALL ORDER BY source`,
  );
  if (bySource.some((s) => s.problems > 0n)) return;
  const repeats =
    (await wh.scalar(
      `SELECT count(*) FROM (SELECT 1 FROM ${batch} WHERE _reason IS NULL GROUP BY event_key HAVING count(*) > 1 LIMIT 1)`,
    )) > 0;
  const result: IngestResult = {
    table: spec.name,
    rowsRead: bySource.reduce((n, s) => n + Number(s.rows_read), 0),
    rowsLoaded: 0,
    rowsRejected: 0,
    rowsFailedClosed: 0,
    rowsForgotten: 0,
    bySource: bySource.map((s) => ({ source: s.source, rowsRead: Number(s.rows_read), rowsRejected: 0 })),
  };
  await wh.transaction(async () => {
    result.rowsLoaded = await mergeEvents(wh, spec, batch, `direct_${process.pid}_seen`, repeats);
    await options.beforeCommit?.(result);
  });
  return result;
}
