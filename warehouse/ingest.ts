import { dropForgottenStaged } from './erasure.ts';
import { hasRows, keySql, merge, type SourceTimes } from './merge.ts';
import { type StagingSource, stagingSql } from './staging-sql.ts';
import { type RawTable, TABLE_SPECS, type TableSpec } from './table-specs.ts';
import { sqlIdent, sqlString } from './values.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * The one way rows enter the raw tables, for every source: stage a relation in a single pass (typed values plus
 * a rejection reason per row), drop the rows of forgotten people, quarantine bad rows in rejected_rows, then merge
 * the good ones idempotently (merge.ts: the newest version of a key wins).
 */
export interface IngestOptions extends StagingSource {
  table: RawTable;
  /**
   * Rows the reader skipped while reading the relation (e.g. DuckDB's CSV reject tables): `sql` reads them shaped
   * like the relation, with `_error` set, right after it, and they are rejected with it, so they count toward the
   * rejected share. `countSql` counts them cheaply: a clean read (the usual case) then skips staging them, whose
   * planning alone cost 10-20 ms a table (a small file's load is a few dozen ms).
   */
  unread?: { sql: string; countSql: string };
  /** The relation costs little to read twice (Parquet files): a first load of events may then skip the staged copy. */
  rereadable?: boolean;
  params?: readonly unknown[];
  /** The relation's columns and DuckDB types when the caller already knows them (saves a DESCRIBE). */
  columns?: Map<string, string>;
  runId: string;
  /** Export time per `_source` (e.g. per file), which orders versions of a key; default: the load time. */
  exportedAt?: SourceTimes;
  /** Delete target rows matching this predicate first, in the same transaction (re-pulled windows). */
  replace?: { where: string; params?: readonly unknown[] };
  /** Abort (merge nothing) when rejected rows exceed this share of rows read. Default 0.05. */
  maxRejectShare?: number;
  /** Runs inside the merge transaction, after the merge: bookkeeping that must land with the rows. */
  beforeCommit?: (result: IngestResult) => Promise<void>;
}

export interface IngestResult {
  table: RawTable;
  rowsRead: number;
  /** Rows inserted or replaced. */
  rowsLoaded: number;
  rowsRejected: number;
  /** Rows loaded with a fail-closed value for a value that could not be read (e.g. consent: none). */
  rowsFailedClosed: number;
  /** Rows of forgotten people (good or bad), dropped before anything else; not counted as read. */
  rowsForgotten: number;
  /** Rows read and rejected per `_source` (e.g. per file). */
  bySource: Array<{ source: string; rowsRead: number; rowsRejected: number }>;
}

export class IngestError extends Error {
  constructor(
    message: string,
    readonly result?: IngestResult,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

let stagingCounter = 0;

export async function ingestRelation(wh: Warehouse, options: IngestOptions): Promise<IngestResult> {
  const spec = TABLE_SPECS[options.table];
  const staging = `stg_${options.table}_${process.pid}_${++stagingCounter}`;
  const params = options.params ?? [];
  const sourceColumns = options.columns ?? (await describeColumns(wh, options.relationSql, params));
  // DuckDB loads faster and in less memory when it need not keep row order; it matters only when a file
  // repeats a key (its last row wins), so only such a batch is read again in order.
  await wh.run('SET preserve_insertion_order = false');
  const direct = await readsDirect(wh, spec, options);
  try {
    const stage = async (ordered: boolean) => {
      await wh.run(
        `CREATE OR REPLACE TEMP ${direct ? 'VIEW' : 'TABLE'} ${sqlIdent(staging)} AS ${stagingSql(spec, options, sourceColumns, ordered)}`,
        params,
      );
      if (options.unread && (await wh.scalar(options.unread.countSql)) > 0)
        await stageUnread(wh, spec, options, options.unread.sql, staging);
    };
    await stage(false);
    // One aggregate over the batch when no key repeats (the usual case), two only when one does.
    const repeats = direct
      ? 'unchecked'
      : spec.merge !== 'distinct' && (await repeatsKey(wh, spec, staging, false));
    if (spec.merge === 'upsert' && repeats === true && (await repeatsKey(wh, spec, staging, true)))
      await orderedBy(wh, stage);
    const rowsForgotten = await dropForgottenStaged(wh, options.table, staging);
    const bySource = await wh.all<{
      source: string;
      rows_read: bigint;
      rows_rejected: bigint;
      warned: bigint;
    }>(
      `SELECT CAST(_source AS VARCHAR) AS source, count(*) AS rows_read, count(_reason) AS rows_rejected, count(_warning) AS warned
       FROM ${sqlIdent(staging)} GROUP BY _source ORDER BY _source`,
    );
    const result: IngestResult = {
      table: options.table,
      rowsRead: bySource.reduce((n, r) => n + Number(r.rows_read), 0),
      rowsLoaded: 0,
      rowsRejected: bySource.reduce((n, r) => n + Number(r.rows_rejected), 0),
      rowsFailedClosed: bySource.reduce((n, r) => n + Number(r.warned), 0),
      rowsForgotten,
      bySource: bySource.map((r) => ({
        source: r.source,
        rowsRead: Number(r.rows_read),
        rowsRejected: Number(r.rows_rejected),
      })),
    };
    const maxShare = options.maxRejectShare ?? 0.05;
    // Rows loaded with a fail-closed value are recorded too (their reason says so), but only when they load.
    const quarantine = (
      warnings: boolean,
    ) => `INSERT INTO rejected_rows (table_name, reason, raw, run_id, source, rejected_at)
      SELECT ${sqlString(spec.name)}, COALESCE(_reason, _warning), _raw, $1, _source, now()::TIMESTAMP
      FROM ${sqlIdent(staging)} WHERE _reason IS NOT NULL ${warnings ? 'OR _warning IS NOT NULL' : ''}`;
    if (result.rowsRead > 0 && result.rowsRejected / result.rowsRead > maxShare) {
      // Keep the evidence, load nothing: a file this broken is more likely a wrong export than a few bad rows.
      await wh.run(quarantine(false), [options.runId]);
      throw new IngestError(
        `${spec.name}: ${result.rowsRejected} of ${result.rowsRead} rows rejected ` +
          `(${pct(result.rowsRejected / result.rowsRead)} > ${pct(maxShare)} allowed); nothing loaded. ` +
          `See: SELECT reason, raw, source FROM rejected_rows WHERE run_id = '${options.runId}'`,
        result,
      );
    }
    await wh.transaction(async () => {
      if (result.rowsRejected + result.rowsFailedClosed > 0) await wh.run(quarantine(true), [options.runId]);
      if (options.replace)
        await wh.run(
          `DELETE FROM ${sqlIdent(spec.name)} WHERE ${options.replace.where}`,
          options.replace.params ?? [],
        );
      result.rowsLoaded = await merge(wh, spec, staging, options.exportedAt ?? new Map(), repeats);
      await options.beforeCommit?.(result);
    });
    return result;
  } finally {
    await wh.run(`DROP ${direct ? 'VIEW' : 'TABLE'} IF EXISTS ${sqlIdent(staging)}`);
    await wh.run('RESET preserve_insertion_order');
  }
}

/**
 * Whether the batch is read through a view of its relation instead of a staged copy: a first load of events that
 * costs little to read again, with nothing to edit in the batch (no rows the reader skipped, nobody forgotten, no
 * window to replace). Its rows are then read twice (counted, inserted) and their keys checked once inserted
 * (merge.ts). Scale 1, 20M events from Parquet, 1 GB limit, alternating: 37.9 and 38.5 s against 42.7 and 44.3 s
 * staged, whose copy spills to disk.
 */
async function readsDirect(wh: Warehouse, spec: TableSpec, options: IngestOptions): Promise<boolean> {
  if (spec.merge !== 'events' || !options.rereadable || options.unread || options.replace) return false;
  if ((options.params ?? []).length > 0) return false;
  return !(await hasRows(wh, 'events')) && !(await hasRows(wh, 'forgotten_customers'));
}

/** Adds the rows the reader skipped to the staged batch, as rejected rows. */
async function stageUnread(
  wh: Warehouse,
  spec: TableSpec,
  options: IngestOptions,
  unreadSql: string,
  staging: string,
): Promise<void> {
  const unread = { ...options, relationSql: unreadSql };
  await wh.run(
    `INSERT INTO ${sqlIdent(staging)} BY NAME SELECT * FROM (${stagingSql(spec, unread, await describeColumns(wh, unreadSql), false)})`,
  );
}

/** True when the batch's good rows hold a key more than once (inOneSource: within one source, e.g. a file). */
async function repeatsKey(
  wh: Warehouse,
  spec: TableSpec,
  staging: string,
  inOneSource: boolean,
): Promise<boolean> {
  const key = [keySql(spec), ...(inOneSource ? ['_source'] : [])].join(', ');
  return (
    (await wh.scalar(
      `SELECT count(*) FROM (SELECT 1 FROM ${sqlIdent(staging)} WHERE _reason IS NULL GROUP BY ${key} HAVING count(*) > 1 LIMIT 1)`,
    )) > 0
  );
}

/** Stages again with each row's position (`_pos`), which needs the source read in order. */
async function orderedBy(wh: Warehouse, stage: (ordered: boolean) => Promise<void>): Promise<void> {
  await wh.run('SET preserve_insertion_order = true');
  try {
    await stage(true);
  } finally {
    await wh.run('SET preserve_insertion_order = false');
  }
}

/** Column names and DuckDB types of a relation, without reading it. */
async function describeColumns(
  wh: Warehouse,
  relationSql: string,
  params: readonly unknown[] = [],
): Promise<Map<string, string>> {
  const rows = await wh.all<{ column_name: string; column_type: string }>(`DESCRIBE ${relationSql}`, params);
  return new Map(rows.map((r) => [r.column_name.toLowerCase(), r.column_type.toUpperCase()]));
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
