import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { CONTACT_COLUMNS } from '../../../warehouse/table-specs.ts';
import { sqlList, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';

const EXPORT_TABLE = 'csv_export_rows';
const HELD_TABLE = 'csv_held_rows';

/** First characters that make a spreadsheet run a cell as a formula. */
const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r'];

/**
 * A cell as written to the file, safe to open in a spreadsheet (OWASP, CSV injection): a value starting with
 * = + - @ tab or carriage return would be run as a formula, so it gets a leading single quote. Only the file
 * changes: plans and other destinations read the stored values. Every cell is also quoted (FORCE_QUOTE).
 * International phone numbers (`+44 20 7946 0958`) stay as they are: made only of digits, spaces and
 * ( ) . - they can call no function, and a quote would break them for whoever uploads the file elsewhere.
 * The first character is compared by its code (`ascii()`): the same test as `left(value, 1)`, at half the cost.
 */
function spreadsheetSafe(column: string): string {
  return `CASE WHEN ascii(${column}) IN (${FORMULA_STARTS.map((c) => c.codePointAt(0)).join(', ')})
                AND NOT regexp_full_match(${column}, '\\+[0-9][0-9 ().-]*')
           THEN '''' || ${column} ELSE ${column} END`;
}

/**
 * Export rows are stored in file order: by audience (so each file's COPY reads only its own rows), then by the
 * customer_id cell as written. A COPY of one audience's rows then needs no sort of its own (205 of them cost more
 * than sorting once here): DuckDB keeps a table's order through a one-table SELECT ... WHERE and COPY while
 * preserve_insertion_order is on, its default, which is checked rather than assumed.
 */
const FILE_ORDER = 'ORDER BY 1, 2';

async function checkOrderKept(wh: Warehouse): Promise<void> {
  const on = await wh.one<{ on: boolean }>(`SELECT current_setting('preserve_insertion_order') AS on`);
  if (!on?.on)
    throw new Error(
      'csv: DuckDB preserve_insertion_order is off in this session, so audience files would not be sorted',
    );
}

/** The columns of an audience file, in file order (the staged tables hold `audience` before them). */
export const FILE_COLUMNS = ['customer_id', ...CONTACT_COLUMNS, 'attributes'] as const;

/** The export rows of the consented members of `audiences` (the files to write), once. */
export async function stageExport(wh: Warehouse, audiences: string[]): Promise<string> {
  await checkOrderKept(wh);
  const cells = ['customer_id', ...CONTACT_COLUMNS].map((c) => `${spreadsheetSafe(`m.${c}`)} AS ${c}`);
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EXPORT_TABLE} AS
     SELECT m.audience, ${cells.join(', ')}, ${spreadsheetSafe('CAST(m.attributes AS VARCHAR)')} AS attributes
     FROM sendable_members m WHERE m.audience IN (SELECT unnest(${sqlList(audiences)}))
     ${FILE_ORDER}`,
  );
  return EXPORT_TABLE;
}

/**
 * The rows of audiences the shrink guard holds: what their files held, minus the people privacy requires to leave
 * (no current consent, erased), with today's contact fields. Written only when such a removal is due.
 */
export async function stageHeldExport(
  wh: Warehouse,
  destination: string,
  audiences: string[],
): Promise<string> {
  await checkOrderKept(wh);
  const cells = ['customer_id', ...CONTACT_COLUMNS].map((c) => `${spreadsheetSafe(`c.${c}`)} AS ${c}`);
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${HELD_TABLE} AS
     SELECT dm.audience, ${cells.join(', ')}, ${spreadsheetSafe('CAST(m.attributes AS VARCHAR)')} AS attributes
     FROM destination_members dm JOIN customers c ON c.customer_id = dm.customer_id AND c.ads_consent
     LEFT JOIN audience_members m ON m.audience = dm.audience AND m.customer_id = dm.customer_id
     WHERE dm.destination = $1 AND dm.audience IN (SELECT unnest(${sqlList(audiences)}))
     ${FILE_ORDER}`,
    [destination],
  );
  return HELD_TABLE;
}

export async function dropExport(wh: Warehouse): Promise<void> {
  await wh.run(`DROP TABLE IF EXISTS ${EXPORT_TABLE}`);
  await wh.run(`DROP TABLE IF EXISTS ${HELD_TABLE}`);
}

/**
 * Writes one audience's file atomically (temp file, then rename), readable by the owner only: it holds raw PII.
 * A failed write leaves no temp file behind. The rows come out in the staged (file) order.
 */
export async function writeAudienceFile(
  wh: Warehouse,
  rows: string,
  audience: string,
  dir: string,
  file: string,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await wh.run(
      `COPY (SELECT * EXCLUDE (audience) FROM ${rows} WHERE audience = ${sqlString(audience)})
       TO ${sqlString(tmp)} (FORMAT csv, HEADER true, FORCE_QUOTE *)`,
    );
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
