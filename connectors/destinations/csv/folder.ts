import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';

/** The marker naming the database that owns an audience folder. */
export const OWNER_FILE = '.retarget-owner';

export interface FolderOwner {
  database_id: string;
  database: string;
}

/**
 * The audience folder of a database when none is configured: `audiences/<database name>/` next to the database
 * file (data/retarget.duckdb -> data/audiences/retarget/), so two databases never share one by default.
 */
export function defaultAudienceDir(databasePath: string): string {
  if (databasePath === ':memory:' || databasePath === '') {
    throw new Error('csv: an in-memory database has no default audience folder: set destinations.csv.dir');
  }
  const file = resolve(databasePath);
  return join(dirname(file), 'audiences', basename(file, extname(file)));
}

/**
 * Makes sure the folder belongs to this database: claims a folder nobody owns, refuses one another database owns.
 * The record of what was written lives in each database, so two databases writing one folder would each report
 * their audiences `unchanged` while the files hold the other store's customers. A dry run claims nothing.
 */
export function claimFolder(dir: string, owner: FolderOwner, dryRun: boolean): void {
  const marker = join(dir, OWNER_FILE);
  const current = readOwner(marker);
  if (current && current.database_id !== owner.database_id) {
    throw new Error(
      `csv: the audience folder ${dir} belongs to the database ${current.database}; this run uses ${owner.database}. ` +
        'Two databases never share an audience folder: set destinations.csv.dir to a folder of its own ' +
        '(or leave it unset: each database then writes to audiences/<database name>/ next to its file). ' +
        `If ${current.database} is gone for good, delete ${marker}.`,
    );
  }
  if (dryRun || (current && current.database === owner.database)) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(marker, `${JSON.stringify(owner, null, 2)}\n`, { mode: 0o600 });
}

function readOwner(marker: string): FolderOwner | undefined {
  if (!existsSync(marker)) return undefined;
  let parsed: Partial<FolderOwner> | undefined;
  try {
    parsed = JSON.parse(readFileSync(marker, 'utf8')) as Partial<FolderOwner>;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.database_id !== 'string' || typeof parsed.database !== 'string') {
    throw new Error(
      `csv: ${marker} is not a retarget owner marker (expected "database_id" and "database"); ` +
        'delete it if this folder belongs to the database of this run',
    );
  }
  return parsed as FolderOwner;
}

/** A temp file of the atomic write (`<audience file>.tmp-<pid>`). */
const TEMP_FILE = /\.csv\.tmp-\d+$/;

/**
 * Removes the temp files a killed run left behind: they hold contact data and no later write reuses them.
 * Nothing else writes them: the folder is this database's own and runs on one database are exclusive.
 */
export function removeStaleTempFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  const stale = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && TEMP_FILE.test(e.name));
  for (const e of stale) rmSync(join(dir, e.name), { force: true });
  return stale.length;
}
