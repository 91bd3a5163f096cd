import { type RawBuilder, sql } from 'kysely';
import { sqlString, timestampLiteral } from '../warehouse/values.ts';
import type { Condition, PurchasedCondition, Scalar } from './types.ts';

/** The SQL pieces the segment compiler (compile.ts and its compile-*.ts parts) builds queries from. */

export type Frag = RawBuilder<unknown>;

export const id = (name: string): Frag => sql.raw(name);

/**
 * Values are inlined as escaped literals, not parameters: DuckDB prunes row groups and pushes filters into
 * scans only for constants (measured on 20M events: parameters made cart_abandoners 2x slower).
 */
export const lit = (v: Scalar | Date): Frag =>
  sql.raw(
    v instanceof Date
      ? timestampLiteral(v)
      : typeof v === 'string'
        ? sqlString(v)
        : typeof v === 'boolean'
          ? String(v).toUpperCase()
          : Number.isFinite(v)
            ? String(v)
            : 'NULL',
  );
export const lits = (vs: Scalar[]): Frag => sql.join(vs.map(lit));

/** Where each condition's evidence lands in `attributes` (used to explain membership). */
export type EvidenceKeys = Map<Condition, Record<string, string>>;

/** A compiled condition: a CTE of qualifying (customer_id[, split_key]) rows plus evidence columns. */
export interface Rel {
  name: string;
  keyed: boolean;
  /** Evidence columns (also the JSON keys in attributes). */
  cols: string[];
}

/** What a condition compiled outside the Compiler class needs from it: the query's CTEs, keys and time frame. */
export interface Scope {
  /** T, the evaluation time, as a literal. */
  readonly t: Frag;
  readonly storedBaskets: boolean;
  readonly evidence: EvidenceKeys;
  /**
   * Adds a CTE named `<prefix>_<n>` and returns its name. DuckDB materializes a CTE read more than once; `inline`
   * asks it to plan the body into each reader instead (NOT MATERIALIZED).
   */
  cte(prefix: string, body: Frag, inline?: boolean): string;
  /** A unique evidence key (column name and JSON key). */
  key(name: string): string;
  /** The filters of a purchased() condition over alias p. */
  purchaseWhere(c: PurchasedCondition): Frag[];
}
