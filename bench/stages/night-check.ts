import { sqlString } from '../../warehouse/values.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';

export interface MembershipCheck {
  /** audience_members and the basket counts are the same row for row in both databases. */
  equal: boolean;
  rows: number;
  only_incremental: number;
  only_full: number;
  pair_rows_differing: number;
}

/** Rows of one table in a but not in b, and in b but not in a (attributes compared as text). */
const differing = (table: string, a: string, b: string) =>
  `SELECT (SELECT count(*) FROM (SELECT * REPLACE (CAST(attributes AS VARCHAR) AS attributes) FROM ${a}.${table}
           EXCEPT ALL SELECT * REPLACE (CAST(attributes AS VARCHAR) AS attributes) FROM ${b}.${table})) AS only_a,
          (SELECT count(*) FROM (SELECT * REPLACE (CAST(attributes AS VARCHAR) AS attributes) FROM ${b}.${table}
           EXCEPT ALL SELECT * REPLACE (CAST(attributes AS VARCHAR) AS attributes) FROM ${a}.${table})) AS only_b,
          (SELECT count(*) FROM ${a}.${table}) AS n`;

/**
 * Compares the incremental night's membership with a full evaluation of the same data (a copy of the database
 * evaluated with --full-refresh): every audience_members row and every stored basket pair count must match.
 */
export async function compareWithFull(incrementalDb: string, fullDb: string): Promise<MembershipCheck> {
  const wh = await Warehouse.open({ path: ':memory:' });
  try {
    await wh.run(`ATTACH ${sqlString(incrementalDb)} AS inc_db (READ_ONLY)`);
    await wh.run(`ATTACH ${sqlString(fullDb)} AS full_db (READ_ONLY)`);
    const m = await wh.one<{ only_a: bigint; only_b: bigint; n: bigint }>(
      differing('audience_members', 'inc_db', 'full_db'),
    );
    const pairs = await wh.one<{ n: bigint }>(
      `SELECT count(*) AS n FROM (
         (SELECT a, b, n FROM inc_db.basket_pairs EXCEPT ALL SELECT a, b, n FROM full_db.basket_pairs)
         UNION ALL (SELECT a, b, n FROM full_db.basket_pairs EXCEPT ALL SELECT a, b, n FROM inc_db.basket_pairs))`,
    );
    const check = {
      rows: Number(m?.n ?? 0),
      only_incremental: Number(m?.only_a ?? 0),
      only_full: Number(m?.only_b ?? 0),
      pair_rows_differing: Number(pairs?.n ?? 0),
    };
    const equal = check.only_incremental + check.only_full + check.pair_rows_differing === 0;
    return { equal, ...check };
  } finally {
    wh.close();
  }
}
