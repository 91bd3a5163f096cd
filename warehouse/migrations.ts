import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../sql/migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Migrations are `sql/migrations/NNNN_name.sql`, applied in order, each once, each in its own transaction. */
export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(join(dir, file), 'utf8'),
    }));
}

export async function migrate(connection: DuckDBConnection, dir = MIGRATIONS_DIR): Promise<number[]> {
  await connection.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)`);
  const done = await connection.runAndReadAll('SELECT version FROM schema_migrations');
  const applied = new Set(done.getRowObjectsJS().map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const m of listMigrations(dir)) {
    if (applied.has(m.version)) continue;
    await connection.run('BEGIN TRANSACTION');
    try {
      await connection.run(m.sql);
      await connection.run('INSERT INTO schema_migrations VALUES ($1, $2, now()::TIMESTAMP)', [
        m.version,
        m.name,
      ]);
      await connection.run('COMMIT');
    } catch (err) {
      await connection.run('ROLLBACK');
      throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`);
    }
    ran.push(m.version);
  }
  return ran;
}

/** Migrations a database has not applied yet (read-only openers cannot apply them, and must not misread the schema). */
export async function pendingMigrations(
  connection: DuckDBConnection,
  dir = MIGRATIONS_DIR,
): Promise<string[]> {
  const table = await connection.runAndReadAll(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'",
  );
  if (Number(table.getRowObjectsJS()[0]?.n ?? 0) === 0)
    return listMigrations(dir).map((m) => `${m.version}_${m.name}`);
  const done = await connection.runAndReadAll('SELECT version FROM schema_migrations');
  const applied = new Set(done.getRowObjectsJS().map((r) => Number(r.version)));
  return listMigrations(dir)
    .filter((m) => !applied.has(m.version))
    .map((m) => `${m.version}_${m.name}`);
}
