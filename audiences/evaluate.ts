import { compileSegment, type LoadedSegment } from '../dsl/index.ts';
import { sqlIdent } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** Temp table holding this run's evaluated membership: (audience, segment, customer_id, attributes). */
export const EVALUATED = 'evaluated_members';

export interface SegmentEvaluation {
  segment: string;
  file: string;
  audiences: number;
  members: number;
  seconds: number;
}

/** Evaluates every segment as of T, set-based in DuckDB, into the EVALUATED temp table. */
export async function evaluateSegments(
  wh: Warehouse,
  segments: LoadedSegment[],
  asOf: Date,
  onSegment?: (done: number, total: number, name: string) => void,
): Promise<SegmentEvaluation[]> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(EVALUATED)} (
       audience VARCHAR NOT NULL, segment VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, attributes JSON)`,
  );
  const results: SegmentEvaluation[] = [];
  for (const [i, { definition, file }] of segments.entries()) {
    const started = performance.now();
    const { sql, parameters } = compileSegment(definition, { asOf });
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
    results.push({
      segment: definition.name,
      file,
      audiences: Number(counts?.audiences ?? 0),
      members: Number(counts?.members ?? 0),
      seconds: (performance.now() - started) / 1000,
    });
    onSegment?.(i + 1, segments.length, definition.name);
  }
  return results;
}
