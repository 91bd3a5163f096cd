import { compileSegment, type LoadedSegment } from '../dsl/index.ts';
import { sqlIdent } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { minesBaskets, refreshBaskets } from './baskets.ts';

/** Temp table holding this run's evaluated membership: (audience, segment, customer_id, attributes). */
export const EVALUATED = 'evaluated_members';

export interface SegmentEvaluation {
  segment: string;
  file: string;
  audiences: number;
  members: number;
  seconds: number;
  /** Why the segment could not be evaluated (its audiences are then held: not stored, not synced). */
  error?: string;
}

/**
 * Evaluates every segment as of T, set-based in DuckDB, into the EVALUATED temp table. Mined complements read
 * basket counts brought up to T first (only changed orders move them; `fullRefresh` counts every order again).
 */
export async function evaluateSegments(
  wh: Warehouse,
  segments: LoadedSegment[],
  asOf: Date,
  onSegment?: (done: number, total: number, name: string) => void,
  options: { fullRefresh?: boolean } = {},
): Promise<SegmentEvaluation[]> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(EVALUATED)} (
       audience VARCHAR NOT NULL, segment VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, attributes JSON)`,
  );
  const results: SegmentEvaluation[] = [];
  let basketsFresh = false;
  for (const [i, { definition, file }] of segments.entries()) {
    const started = performance.now();
    let outcome: { audiences: number; members: number; error?: string };
    try {
      const mines = minesBaskets(definition);
      if (mines && !basketsFresh) await refreshBaskets(wh, asOf, options.fullRefresh);
      basketsFresh ||= mines;
      outcome = await evaluateOne(wh, definition, asOf);
    } catch (err) {
      // One broken segment holds only its own audiences: drop its partial rows, evaluate the others.
      await wh.run(`DELETE FROM ${sqlIdent(EVALUATED)} WHERE segment = $1`, [definition.name]);
      outcome = { audiences: 0, members: 0, error: `cannot be evaluated: ${(err as Error).message}` };
    }
    results.push({
      segment: definition.name,
      file,
      ...outcome,
      seconds: (performance.now() - started) / 1000,
    });
    onSegment?.(i + 1, segments.length, definition.name);
  }
  return results;
}

/** Inserts one segment's members as of T into EVALUATED; counts its audiences and members. */
async function evaluateOne(
  wh: Warehouse,
  definition: LoadedSegment['definition'],
  asOf: Date,
): Promise<{ audiences: number; members: number }> {
  const { sql, parameters } = compileSegment(definition, { asOf, storedBaskets: true });
  const n = parameters.length;
  await wh.run(
    `INSERT INTO ${sqlIdent(EVALUATED)}
     SELECT audience, $${n + 1}, customer_id, CAST(attributes AS JSON) FROM (${sql}) q`,
    [...parameters, definition.name],
  );
  const counts = await wh.one<{ audiences: bigint; members: bigint }>(
    `SELECT count(DISTINCT audience) AS audiences, count(*) AS members FROM ${sqlIdent(EVALUATED)} WHERE segment = $1`,
    [definition.name],
  );
  return { audiences: Number(counts?.audiences ?? 0), members: Number(counts?.members ?? 0) };
}
