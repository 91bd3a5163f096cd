import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Warehouse } from '../warehouse/warehouse.ts';

/** A load test's scratch space: a fresh database and an empty exports folder in a temp dir (never in data/). */
export interface ExportDir {
  root: string;
  dir: string;
  wh: Warehouse;
}

export async function openExportDir(prefix: string): Promise<ExportDir> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(root, 'exports');
  mkdirSync(dir);
  return { root, dir, wh: await Warehouse.open({ path: join(root, 'store.duckdb') }) };
}

export function closeExportDir(s: ExportDir): void {
  s.wh.close();
  rmSync(s.root, { recursive: true, force: true });
}

/** Writes an export file (sub-folders created); `modifiedAt` sets its mtime, which orders undated exports. */
export function writeExport(dir: string, name: string, text: string, modifiedAt?: Date): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (modifiedAt) utimesSync(path, modifiedAt, modifiedAt);
  return path;
}
