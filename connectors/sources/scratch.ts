import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** In-memory databases' scratch folders, by name: each made under the system temp folder with a random name. */
const inMemory = new WeakMap<Warehouse, Map<string, string>>();

/**
 * A source's scratch folder, for pages and downloads of customer data on their way into DuckDB: beside the
 * database, which receives the same data, as `.<database file>.<name>`, readable by the owner only. Not in the
 * shared system temp folder: there a fixed file name could be a link another user planted, and what a killed run
 * left was never removed. A pull removes it when it ends (removeScratch); one whose file names repeat across runs
 * also empties it when it starts (openScratch), so what a killed run left is never read and does not outlive the
 * next run. An in-memory database has no folder of its own: its scratch is a fresh folder under the system temp
 * folder.
 */
export function scratchDir(wh: Warehouse, name: string): string {
  if (wh.path !== ':memory:') {
    const dir = besideDatabase(wh, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
  const dirs = inMemory.get(wh) ?? new Map<string, string>();
  inMemory.set(wh, dirs);
  const dir = dirs.get(name) ?? mkdtempSync(join(tmpdir(), `retarget-${name}-`));
  dirs.set(name, dir);
  return dir;
}

/** Empties the scratch folder (what a killed run left behind) and returns it, ready for this pull. */
export function openScratch(wh: Warehouse, name: string): string {
  removeScratch(wh, name);
  return scratchDir(wh, name);
}

/** Removes the scratch folder and what it holds. */
export function removeScratch(wh: Warehouse, name: string): void {
  const dir = wh.path === ':memory:' ? inMemory.get(wh)?.get(name) : besideDatabase(wh, name);
  inMemory.get(wh)?.delete(name);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

function besideDatabase(wh: Warehouse, name: string): string {
  return join(dirname(wh.path), `.${basename(wh.path)}.${name}`);
}
