import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RAW_TABLES, type RawTable } from '../../../warehouse/table-specs.ts';

export type FileFormat = 'csv' | 'json' | 'parquet';

export interface SourceFile {
  table: RawTable;
  path: string;
  format: FileFormat;
  sizeBytes: number;
  modifiedAt: Date;
}

const FORMATS: Array<[RegExp, FileFormat]> = [
  [/\.(csv|tsv)(\.gz|\.zst)?$/i, 'csv'],
  [/\.(jsonl|ndjson|json)(\.gz|\.zst)?$/i, 'json'],
  [/\.parquet$/i, 'parquet'],
];

export function formatOf(path: string): FileFormat | undefined {
  return FORMATS.find(([re]) => re.test(path))?.[1];
}

/**
 * The files contract: per table, either `<dir>/<table>.<ext>` or a folder `<dir>/<table>/` of such files
 * (searched recursively). Files are returned in path order, so later exports override earlier ones.
 */
export function discoverFiles(dir: string): SourceFile[] {
  const root = resolve(dir);
  const entries = readdirSync(root, { withFileTypes: true });
  const files: SourceFile[] = [];
  for (const table of RAW_TABLES) {
    for (const entry of entries) {
      const full = join(root, entry.name);
      if (entry.isDirectory() && entry.name === table) {
        files.push(...walk(full).flatMap((p) => describe(table, p)));
      } else if (entry.isFile() && stem(entry.name) === table) {
        files.push(...describe(table, full));
      }
    }
  }
  return files.sort((a, b) => (a.table === b.table ? a.path.localeCompare(b.path) : 0));
}

function stem(name: string): string {
  return name.replace(/\.(csv|tsv|jsonl|ndjson|json|parquet)(\.gz|\.zst)?$/i, '');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return walk(full);
    return e.isFile() && !e.name.startsWith('.') ? [full] : [];
  });
}

function describe(table: RawTable, path: string): SourceFile[] {
  const format = formatOf(path);
  if (!format) return [];
  const st = statSync(path);
  return [{ table, path, format, sizeBytes: st.size, modifiedAt: new Date(Math.trunc(st.mtimeMs)) }];
}
