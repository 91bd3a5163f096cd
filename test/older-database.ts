import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { MIGRATIONS_DIR, migrate } from '../warehouse/migrations.ts';

/**
 * A database as an older retarget left it, in `root`: only the migrations numbered below `before` applied. The
 * caller writes rows of that older shape through `connection`, closes it, then opens `path` with today's code.
 */
export async function openOlderDatabase(
  root: string,
  before: number,
): Promise<{ path: string; instance: DuckDBInstance; connection: DuckDBConnection }> {
  const older = join(root, 'migrations');
  mkdirSync(older);
  for (const f of readdirSync(MIGRATIONS_DIR).filter(
    (f) => /^\d{4}_/.test(f) && Number(f.slice(0, 4)) < before,
  ))
    copyFileSync(join(MIGRATIONS_DIR, f), join(older, f));
  const path = join(root, 'old.duckdb');
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await migrate(connection, older);
  return { path, instance, connection };
}
