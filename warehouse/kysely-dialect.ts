import type { DuckDBConnection } from '@duckdb/node-api';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { toDuckValues } from './values.ts';

/**
 * A small Kysely dialect for DuckDB over @duckdb/node-api. DuckDB speaks PostgreSQL's syntax for everything
 * Kysely emits ($n parameters, double-quoted identifiers, RETURNING), so the Postgres compiler and adapter fit;
 * only the driver is ours. It reuses the warehouse's single connection: DuckDB allows one writer per file.
 */
export class DuckDBDialect implements Dialect {
  constructor(private readonly connection: DuckDBConnection) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new DuckDBDriver(this.connection);
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

class DuckDBDriver implements Driver {
  private readonly conn: DuckDBKyselyConnection;
  constructor(connection: DuckDBConnection) {
    this.conn = new DuckDBKyselyConnection(connection);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.conn;
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await (c as DuckDBKyselyConnection).raw('BEGIN TRANSACTION');
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await (c as DuckDBKyselyConnection).raw('COMMIT');
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await (c as DuckDBKyselyConnection).raw('ROLLBACK');
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

class DuckDBKyselyConnection implements DatabaseConnection {
  constructor(private readonly connection: DuckDBConnection) {}

  async raw(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const reader = await this.connection.runAndReadAll(compiled.sql, toDuckValues(compiled.parameters));
    const rows = reader.getRowObjectsJS() as R[];
    const changed = reader.rowsChanged;
    return changed > 0 ? { rows, numAffectedRows: BigInt(changed) } : { rows };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported; Kysely requires the method
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streamQuery is not supported by the DuckDB dialect');
  }
}
