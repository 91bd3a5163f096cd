import {
  describeColumns,
  type IngestResult,
  ingestRelation,
  missingColumns,
} from '../../../warehouse/ingest.ts';
import { RAW_TABLES, type RawTable } from '../../../warehouse/table-specs.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { discoverFiles, type FileFormat, type SourceFile } from './discover.ts';
import { readerSql, singleFileSql } from './readers.ts';

export interface FilesSourceOptions {
  dir: string;
  runId: string;
  /** Abort a table's load when rejected rows exceed this share. Default 0.05. */
  maxRejectShare?: number;
  log?: (message: string) => void;
  /** Runs inside a table's load transaction, just before it commits. */
  beforeCommit?: (table: RawTable) => Promise<void>;
}

export interface TableLoadSummary {
  table: RawTable;
  files: number;
  filesSkipped: number;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
}

export class FilesSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilesSourceError';
  }
}

/**
 * Loads every new file of the source directory. A file already loaded (same path, size and modification time)
 * is skipped, so a night with one new file reads only that file; a missing table is simply empty.
 */
export async function loadFilesSource(
  wh: Warehouse,
  options: FilesSourceOptions,
): Promise<TableLoadSummary[]> {
  const all = discoverFiles(options.dir);
  const fresh = await withoutLoaded(wh, all);
  const summaries: TableLoadSummary[] = [];
  for (const table of RAW_TABLES) {
    const files = fresh.filter((f) => f.table === table);
    const skipped = all.filter((f) => f.table === table).length - files.length;
    const summary: TableLoadSummary = {
      table,
      files: files.length,
      filesSkipped: skipped,
      rowsRead: 0,
      rowsLoaded: 0,
      rowsRejected: 0,
    };
    summaries.push(summary);
    if (files.length === 0) continue;
    const columns = await checkColumns(wh, files);
    const readable = files.filter((f) => f.sizeBytes > 0);
    if (readable.length === 0) {
      await recordLoaded(
        wh,
        files,
        { table, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0, bySource: [] },
        options.runId,
      );
      continue;
    }
    options.log?.(`${table}: reading ${readable.length} file(s)`);
    const result = await ingestRelation(wh, {
      table,
      relationSql: unionSql(readable),
      columns,
      runId: options.runId,
      source: options.dir,
      maxRejectShare: options.maxRejectShare,
      beforeCommit: async (r) => {
        await recordLoaded(wh, files, r, options.runId);
        await options.beforeCommit?.(table);
      },
    });
    Object.assign(summary, {
      rowsRead: result.rowsRead,
      rowsLoaded: result.rowsLoaded,
      rowsRejected: result.rowsRejected,
    });
  }
  return summaries;
}

async function withoutLoaded(wh: Warehouse, files: SourceFile[]): Promise<SourceFile[]> {
  const loaded = await wh.all<{ path: string; size_bytes: bigint; modified_at: Date }>(
    'SELECT path, size_bytes, modified_at FROM loaded_files',
  );
  const seen = new Set(loaded.map((r) => `${r.path}\0${r.size_bytes}\0${r.modified_at.getTime()}`));
  return files.filter((f) => !seen.has(`${f.path}\0${f.sizeBytes}\0${f.modifiedAt.getTime()}`));
}

/**
 * Fails on the first file that lacks a column its table needs, naming both. Returns the columns of the files'
 * union when it is certain (one format, one type per column), so the load need not ask DuckDB again.
 */
async function checkColumns(wh: Warehouse, files: SourceFile[]): Promise<Map<string, string> | undefined> {
  const union = new Map<string, string>();
  let certain = new Set(files.map((f) => f.format)).size === 1;
  for (const file of files) {
    if (file.sizeBytes === 0) continue;
    let columns: Map<string, string>;
    try {
      columns = await describeColumns(wh, singleFileSql(file.format, file.path));
    } catch (err) {
      throw new FilesSourceError(`${file.path}: cannot be read as ${file.format}: ${firstLine(err)}`);
    }
    const missing = missingColumns(file.table, columns.keys());
    if (missing.length > 0) {
      throw new FilesSourceError(
        `${file.path}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for table ${file.table} ` +
          `(found: ${[...columns.keys()].filter((c) => c !== '_source').join(', ') || 'none'})`,
      );
    }
    for (const [name, type] of columns) {
      if (union.has(name) && union.get(name) !== type) certain = false;
      union.set(name, type);
    }
  }
  return certain && union.size > 0 ? union : undefined;
}

function unionSql(files: SourceFile[]): string {
  const byFormat = new Map<FileFormat, string[]>();
  for (const f of files) byFormat.set(f.format, [...(byFormat.get(f.format) ?? []), f.path]);
  const parts = [...byFormat].map(([format, paths]) => `(${readerSql(format, paths)})`);
  // Formats disagree on types (CSV is text); UNION BY NAME widens to a common type, validation casts after.
  return parts.length === 1
    ? `SELECT * FROM ${parts[0]}`
    : parts.map((p) => `SELECT * FROM ${p}`).join(' UNION ALL BY NAME ');
}

async function recordLoaded(
  wh: Warehouse,
  files: SourceFile[],
  result: IngestResult,
  runId: string,
): Promise<void> {
  const counts = new Map(result.bySource.map((s) => [s.source, s]));
  for (const f of files) {
    const c = counts.get(f.path);
    await wh.run(
      `INSERT OR REPLACE INTO loaded_files (path, size_bytes, modified_at, table_name, run_id, loaded_at, rows_read, rows_rejected)
       VALUES ($1, $2, $3, $4, $5, now()::TIMESTAMP, $6, $7)`,
      [f.path, f.sizeBytes, f.modifiedAt, f.table, runId, c?.rowsRead ?? 0, c?.rowsRejected ?? 0],
    );
  }
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0] ?? '';
}
