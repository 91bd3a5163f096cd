import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { Database } from '../warehouse/schema.ts';
import { sqlString, timestampLiteral } from '../warehouse/values.ts';

/**
 * For SQL shown to people (`retarget explain`): each parameter is written as a literal where the query tree holds
 * it, so a value that looks like a placeholder (`'Under $10'`) or holds quotes stays exactly what it is.
 */
class InliningQueryCompiler extends PostgresQueryCompiler {
  protected override appendValue(parameter: unknown): void {
    this.append(literal(parameter));
  }
}

export const readableCompiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new InliningQueryCompiler(),
  },
});

/** Renders a parameter as a SQL literal. */
function literal(v: unknown): string {
  if (v instanceof Date) return timestampLiteral(v);
  if (typeof v === 'string') return sqlString(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v === null || v === undefined) return 'NULL';
  return sqlString(JSON.stringify(v));
}
