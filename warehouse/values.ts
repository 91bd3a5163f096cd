import { DuckDBTimestampValue, type DuckDBValue } from '@duckdb/node-api';

/** Converts JS parameters to DuckDB values: Dates become TIMESTAMP (UTC). */
export function toDuckValue(value: unknown): DuckDBValue {
  if (value instanceof Date) return new DuckDBTimestampValue(BigInt(value.getTime()) * 1000n);
  if (value === undefined) return null;
  return value as DuckDBValue;
}

export function toDuckValues(values: readonly unknown[]): DuckDBValue[] {
  return values.map(toDuckValue);
}

/** Renders a Date as a DuckDB TIMESTAMP literal (UTC), for SQL shown to people (explain, docs). */
export function timestampLiteral(at: Date): string {
  return `TIMESTAMP '${at.toISOString().replace('T', ' ').replace('Z', '')}'`;
}

/** Quotes a string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes an identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A VARCHAR[] literal (node-api cannot bind an untyped JS array as a parameter). */
export function sqlList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]::VARCHAR[]`;
}
