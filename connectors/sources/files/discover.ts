import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { RAW_TABLES, type RawTable } from '../../../warehouse/table-specs.ts';
export type FileFormat = 'csv' | 'json' | 'parquet';

export interface SourceFile {
  table: RawTable;
  path: string;
  format: FileFormat;
  sizeBytes: number;
  modifiedAt: Date;
}

/** A file of the source directory that no table reads, and why (reported, so a misnamed export is seen). */
export interface IgnoredFile {
  path: string;
  reason: string;
}

export interface SourceListing {
  files: SourceFile[];
  ignored: IgnoredFile[];
  /** Tables that must not load this run, and why (e.g. a file in their folder names another table). */
  broken: Array<{ table: RawTable; message: string }>;
}

const FORMATS: Array<[RegExp, FileFormat]> = [
  [/\.(csv|tsv)(\.gz|\.zst)?$/i, 'csv'],
  [/\.(jsonl|ndjson|json)(\.gz|\.zst)?$/i, 'json'],
  [/\.parquet$/i, 'parquet'],
];

/** Hidden by the usual convention (`.DS_Store`, Spark's `_SUCCESS`, Parquet's `_metadata`): neither read nor reported. */
const HIDDEN = /^[._]/;

const NO_TABLE = `name matches no table (${RAW_TABLES.join(', ')})`;
const NO_FORMAT = 'not CSV, JSON lines or Parquet';

export function formatOf(path: string): FileFormat | undefined {
  return FORMATS.find(([re]) => re.test(path))?.[1];
}

/**
 * The table a file or folder name stands for. Exports are named by people and tools, so the obvious spellings
 * count: any letter case, singular or plural, '-' or ' ' for '_', and a trailing export date or sequence number
 * (`Orders.csv`, `customer.csv`, `orders_2026-11.csv`, `order-items-2.csv`).
 */
export function tableOfName(name: string): RawTable | undefined {
  const base = stem(name)
    .toLowerCase()
    .trim()
    .replace(/[ _.-]+\d[\dtz_.:-]*$/, '')
    .replace(/[ -]+/g, '_');
  return RAW_TABLES.find((t) => base === t || base === t.replace(/s$/, ''));
}

/**
 * The files contract: per table, either `<dir>/<table>.<ext>` or a folder `<dir>/<table>/` of such files
 * (searched recursively). Files are returned in path order, so later exports override earlier ones. A file whose
 * name names another table than its folder breaks that folder's table: loading it into either could be wrong.
 */
export function discoverSource(dir: string): SourceListing {
  const root = resolve(dir);
  const files: SourceFile[] = [];
  const ignored: IgnoredFile[] = [];
  const broken: SourceListing['broken'] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (HIDDEN.test(entry.name)) continue;
    const full = join(root, entry.name);
    const table = tableOfName(entry.name);
    if (entry.isDirectory() && table) {
      for (const path of walk(full)) {
        const inner = tableOfName(relative(full, path).split(/[\\/]/)[0]!);
        if (inner && inner !== table) {
          const message = `${path}: ambiguous: the folder says ${table}, the file name says ${inner}; rename or move the file`;
          broken.push({ table, message });
        }
        files.push(...describe(table, path, ignored));
      }
    } else if (entry.isFile() && table) {
      files.push(...describe(table, full, ignored));
    } else if (entry.isFile() || entry.isDirectory()) {
      ignored.push({ path: full, reason: formatOf(full) || entry.isDirectory() ? NO_TABLE : NO_FORMAT });
    }
  }
  files.sort((a, b) =>
    a.table === b.table
      ? a.path.localeCompare(b.path)
      : RAW_TABLES.indexOf(a.table) - RAW_TABLES.indexOf(b.table),
  );
  return { files, ignored, broken };
}

/** The files the tables read (see discoverSource). */
export function discoverFiles(dir: string): SourceFile[] {
  return discoverSource(dir).files;
}

function stem(name: string): string {
  return name.replace(/\.(csv|tsv|jsonl|ndjson|json|parquet)(\.gz|\.zst)?$/i, '');
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (HIDDEN.test(e.name)) return [];
    if (e.isDirectory()) return walk(full);
    return e.isFile() ? [full] : [];
  });
}

function describe(table: RawTable, path: string, ignored: IgnoredFile[]): SourceFile[] {
  const format = formatOf(path);
  if (!format) {
    ignored.push({ path, reason: NO_FORMAT });
    return [];
  }
  const st = statSync(path);
  return [{ table, path, format, sizeBytes: st.size, modifiedAt: new Date(Math.trunc(st.mtimeMs)) }];
}
