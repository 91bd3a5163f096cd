import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { scratchDir } from '../scratch.ts';
import type { RunReportResponse } from './client.ts';
import type { ResolvedReport } from './reports.ts';

/** The scratch folder (../scratch.ts) of the pages being loaded, removed when a pull ends. */
export const GA4_PAGES = 'ga4-pages';

/** Source label of Data API rows in `events`. */
export const DATA_API_SOURCE = 'ga4_data_api';

/** Dimension values GA4 uses for "no value": such rows carry no customer or product. */
const NO_VALUE = `('', '(not set)', '(other)', '(data deleted)')`;

let counter = 0;
let pageCounter = 0;
const SEP = '\x1f';
// The unit separator delimits fields; built from SEP so the intent stays explicit.
const UNSAFE = new RegExp(`[${SEP}\\n\\r]`);
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/** A value as one field: the separator and line breaks cannot occur inside it (they become spaces). */
function clean(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return UNSAFE.test(value) ? value.replace(UNSAFE_ALL, ' ') : value;
}

/**
 * A temp table holding one chunk's report rows as GA4 returned them (dimension values d0.., metric values m0..,
 * all text). Pages are appended in bulk; the chunk is mapped to `events` columns in one SQL statement.
 */
export class ReportStage {
  readonly table: string;

  private constructor(
    private readonly wh: Warehouse,
    readonly report: ResolvedReport,
  ) {
    this.table = `ga4_stage_${process.pid}_${++counter}`;
  }

  static async create(wh: Warehouse, report: ResolvedReport): Promise<ReportStage> {
    const stage = new ReportStage(wh, report);
    const cols = [...report.dimensions.map((_, i) => `d${i}`), ...report.metrics.map((_, i) => `m${i}`)];
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE ${sqlIdent(stage.table)} (${cols.map((c) => `${c} VARCHAR`).join(', ')})`,
    );
    return stage;
  }

  /**
   * Appends a page in bulk: one pass copies the decoded values into a delimited text file that DuckDB's CSV reader
   * loads (an order of magnitude faster than handing DuckDB the page as JSON on a small machine).
   */
  async append(rows: NonNullable<RunReportResponse['rows']>): Promise<void> {
    if (!rows.length) return;
    const width = this.report.dimensions.length + this.report.metrics.length;
    const lines: string[] = new Array(rows.length);
    const nDims = this.report.dimensions.length;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as NonNullable<RunReportResponse['rows']>[number];
      const dims = row.dimensionValues ?? [];
      const mets = row.metricValues ?? [];
      let line = '';
      for (let c = 0; c < width; c++) {
        const v = c < nDims ? dims[c] : mets[c - nDims];
        line += (c ? SEP : '') + clean(v?.value);
      }
      lines[i] = line;
    }
    const file = join(scratchDir(this.wh, GA4_PAGES), `${this.table}_${++pageCounter}.txt`);
    writeFileSync(file, lines.join('\n'), { mode: 0o600 });
    try {
      const columns = Array.from({ length: width }, (_, i) => `c${i}: 'VARCHAR'`).join(', ');
      await this.wh.run(
        `INSERT INTO ${sqlIdent(this.table)} SELECT * FROM read_csv(${sqlString(file)}, delim = '\x1f',
           quote = '', escape = '', header = false, auto_detect = false, columns = {${columns}})`,
      );
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Rows without a customer value (anonymous traffic, '(other)'): not loadable per customer. */
  async unattributedRows(): Promise<number> {
    const cust = `d${this.report.columns.customer}`;
    return this.wh.scalar(
      `SELECT count(*) FROM ${sqlIdent(this.table)} WHERE trim(coalesce(${cust}, '')) IN ${NO_VALUE}`,
    );
  }

  /**
   * The chunk as `events` columns. event_id = 'ga4:<report>:<day or hour>:<hash of the row's dimensions and
   * event name>': stable across re-pulls, and its prefix lets a re-pull replace exactly this report's rows.
   */
  eventsSql(): string {
    const r = this.report;
    const c = r.columns;
    const clean = (i: number | undefined): string =>
      i === undefined
        ? 'NULL'
        : `CASE WHEN trim(coalesce(d${i}, '')) NOT IN ${NO_VALUE} THEN trim(d${i}) END`;
    const time = `d${c.time}`;
    // GA4 'date' is YYYYMMDD and 'dateHour' YYYYMMDDHH in the property's time zone; read as UTC. Anything else
    // passes through unchanged so the loader rejects it with the bad value in the reason.
    const occurredAt =
      r.time === 'date'
        ? `CASE WHEN regexp_full_match(${time}, '\\d{8}')
             THEN substr(${time}, 1, 4) || '-' || substr(${time}, 5, 2) || '-' || substr(${time}, 7, 2)
             ELSE ${time} END`
        : `CASE WHEN regexp_full_match(${time}, '\\d{10}')
             THEN substr(${time}, 1, 4) || '-' || substr(${time}, 5, 2) || '-' || substr(${time}, 7, 2)
                  || ' ' || substr(${time}, 9, 2) || ':00:00'
             ELSE ${time} END`;
    let from: string;
    let eventName: string;
    let count: string;
    if (r.kind === 'items') {
      // One events row per (row, metric): UNPIVOT the metric columns, name each by the event it counts.
      const metricCols = r.metrics.map((_, i) => `m${i}`);
      from = `(UNPIVOT ${sqlIdent(this.table)} ON ${metricCols.join(', ')} INTO NAME _metric VALUE _count)`;
      eventName = `CASE _metric ${(r.metricEvents ?? []).map((e, i) => `WHEN 'm${i}' THEN ${sqlString(e)}`).join(' ')} END`;
      count = '_count';
    } else {
      from = sqlIdent(this.table);
      eventName = `d${c.eventName}`;
      count = 'm0';
    }
    const customer = clean(c.customer);
    const product = clean(c.product);
    const category = clean(c.category);
    return `
      SELECT
        'ga4:' || ${sqlString(r.name)} || ':' || coalesce(${time}, '') || ':' || md5(concat_ws(chr(31),
          ${customer}, ${eventName}, coalesce(${product}, ''), coalesce(${category}, ''))) AS event_id,
        ${customer} AS customer_id,
        ${eventName} AS event_name,
        ${product} AS product_id,
        ${category} AS category,
        ${occurredAt} AS occurred_at,
        ${count} AS event_count,
        ${sqlString(DATA_API_SOURCE)} AS source,
        ${sqlString(`${DATA_API_SOURCE}:${r.name}`)} AS _source
      FROM ${from}
      WHERE trim(coalesce(d${c.customer}, '')) NOT IN ${NO_VALUE}
        -- GA4 omits all-zero rows, but one metric of an items row may be zero: that event did not happen.
        AND coalesce(TRY_CAST(${count} AS DOUBLE), 1) <> 0`;
  }

  async drop(): Promise<void> {
    await this.wh.run(`DROP TABLE IF EXISTS ${sqlIdent(this.table)}`);
  }
}
