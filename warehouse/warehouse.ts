import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Kysely } from 'kysely';
import { DuckDBDialect } from './kysely-dialect.ts';
import { migrate, pendingMigrations } from './migrations.ts';
import type { Database } from './schema.ts';
import { toDuckValues } from './values.ts';

export interface WarehouseOptions {
  /** DuckDB file, or ':memory:'. */
  path: string;
  readOnly?: boolean;
  /** DuckDB memory_limit, e.g. '2GB'. */
  memoryLimit?: string;
  threads?: number;
}

export type Row = Record<string, unknown>;

/**
 * The DuckDB file: one instance, one connection (DuckDB allows a single writing process), migrations applied
 * on open, every session in UTC. Raw SQL for bulk work, Kysely (`db`) for typed queries.
 */
export class Warehouse {
  readonly db: Kysely<Database>;

  private constructor(
    readonly path: string,
    readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {
    this.db = new Kysely<Database>({ dialect: new DuckDBDialect(connection) });
  }

  static async open(options: WarehouseOptions): Promise<Warehouse> {
    const { path } = options;
    const inMemory = path === ':memory:' || path === '';
    const isNew = !inMemory && !existsSync(path);
    if (isNew && !options.readOnly) mkdirSync(dirname(path), { recursive: true });
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(inMemory ? ':memory:' : path, config);
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    if (isNew && !options.readOnly) chmodSync(path, 0o600); // customer PII: owner only
    const wh = new Warehouse(inMemory ? ':memory:' : path, instance, connection);
    if (!options.readOnly) await migrate(connection);
    else {
      const pending = await pendingMigrations(connection).catch((err: Error) => {
        wh.close();
        throw err;
      });
      if (pending.length > 0) {
        wh.close();
        throw new Error(
          `${path} was written by an older retarget (schema changes ${pending.join(', ')} not applied yet); ` +
            'run `retarget run` (or `npm start` for the demo) once to upgrade it: read-only commands cannot',
        );
      }
    }
    return wh;
  }

  /** Runs a statement; returns the number of rows it changed. */
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const reader = await this.connection.runAndReadAll(sql, toDuckValues(params));
    return reader.rowsChanged;
  }

  /** Runs a query and returns its rows as plain JS objects (BIGINT as bigint, TIMESTAMP as Date). */
  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, toDuckValues(params));
    return reader.getRowObjectsJS() as T[];
  }

  /** Runs a query and returns JSON-safe rows (BIGINT and DECIMAL as strings/numbers, timestamps as strings). */
  async json<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, toDuckValues(params));
    return reader.getRowObjectsJson() as T[];
  }

  async one<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** A single number from the first column of the first row. */
  async scalar(sql: string, params: readonly unknown[] = []): Promise<number> {
    const row = await this.one<Row>(sql, params);
    const value = row ? Object.values(row)[0] : undefined;
    return value === null || value === undefined ? 0 : Number(value);
  }

  /**
   * Runs fn in a transaction: all of it lands, or none of it. Not re-entrant. A table written inside it (a temp table
   * too) is scanned on one thread until the commit: stage what the writes read before it, committed.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.connection.run('COMMIT');
      return result;
    } catch (err) {
      await this.connection.run('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
