import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { sqlList, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { FILE_COLUMNS } from './export.ts';
import type { FileRecord } from './file-records.ts';

/**
 * Audiences of at most this many rows are written from their text, built in DuckDB, instead of a COPY each. A COPY
 * costs about 2.5 ms whatever its size (two hundred 135-row category files took 0.5 s) plus reading the file back to
 * hash it; building the text costs per byte, about three times a COPY's, so past roughly 1,500 rows the COPY wins.
 */
export const TEXT_FILE_MAX_ROWS = 1000;

/** Rows whose text one query brings into memory at most (about 20 MB): a store may have thousands of small files. */
export const TEXT_BATCH_ROWS = 100_000;

/**
 * A cell exactly as COPY (FORMAT csv, FORCE_QUOTE *) writes it: quoted, inner quotes doubled, NULL an empty cell.
 * The test in test/csv-text-files.test.ts compares both writers byte for byte.
 */
function csvCell(column: string): string {
  return `COALESCE('"' || replace(${column}, '"', '""') || '"', '')`;
}

const HEADER = `${FILE_COLUMNS.map((c) => `"${c}"`).join(',')}\n`;

export interface TextFile {
  audience: string;
  file: string;
  /** Its staged rows. */
  rows: number;
}

/**
 * Writes small audience files with a query per TEXT_BATCH_ROWS rows: DuckDB builds each file's text in file order
 * (by the customer_id cell, the staged order) and its SHA-256, so no file is read back to be hashed. Each file is
 * written atomically (temp file, then rename) and readable by the owner only, like a COPY's. Returns each
 * audience's record, or why its file could not be written (the others are still written).
 */
export async function writeTextFiles(
  wh: Warehouse,
  rows: string,
  files: TextFile[],
  dir: string,
): Promise<Map<string, FileRecord | Error>> {
  const written = new Map<string, FileRecord | Error>();
  for (const batch of batches(files)) {
    for (const [audience, record] of await writeBatch(wh, rows, batch, dir)) written.set(audience, record);
  }
  return written;
}

/** Consecutive files of at most TEXT_BATCH_ROWS rows together (a bigger file alone). */
function batches(files: TextFile[]): TextFile[][] {
  const out: TextFile[][] = [];
  let rows = Number.POSITIVE_INFINITY;
  for (const f of files) {
    if (rows + f.rows > TEXT_BATCH_ROWS) {
      out.push([]);
      rows = 0;
    }
    out.at(-1)!.push(f);
    rows += f.rows;
  }
  return out;
}

async function writeBatch(
  wh: Warehouse,
  rows: string,
  files: TextFile[],
  dir: string,
): Promise<Map<string, FileRecord | Error>> {
  const line = `${FILE_COLUMNS.map(csvCell).join(` || ',' || `)} || chr(10)`;
  const texts = await wh.all<{ audience: string; text: string; sha256: string }>(
    `WITH wanted AS (SELECT unnest(${sqlList(files.map((f) => f.audience))}) AS audience),
     bodies AS (
       SELECT audience, string_agg(${line}, '' ORDER BY customer_id) AS body FROM ${rows}
       WHERE audience IN (SELECT audience FROM wanted) GROUP BY audience
     ),
     texts AS (SELECT audience, ${sqlString(HEADER)} || COALESCE(body, '') AS text FROM wanted LEFT JOIN bodies USING (audience))
     SELECT audience, text, sha256(text) AS sha256 FROM texts`,
  );
  const byAudience = new Map(texts.map((t) => [t.audience, t]));
  mkdirSync(dir, { recursive: true });
  const written = new Map<string, FileRecord | Error>();
  for (const { audience, file } of files) {
    const t = byAudience.get(audience)!;
    try {
      written.set(audience, writeText(audience, file, t.text, t.sha256));
    } catch (err) {
      written.set(audience, err as Error);
    }
  }
  return written;
}

function writeText(audience: string, file: string, text: string, sha256: string): FileRecord {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const stat = statSync(file, { bigint: true });
  // The recorded hash is of the text, not of the file: they must be the same bytes.
  if (stat.size !== BigInt(Buffer.byteLength(text, 'utf8')))
    throw new Error(`${file} holds ${stat.size} bytes after writing ${Buffer.byteLength(text, 'utf8')}`);
  return { audience, path: file, size: stat.size, mtimeNs: stat.mtimeNs, sha256 };
}
