import { createHash } from 'node:crypto';
import type { Warehouse } from '../../../warehouse/warehouse.ts';

/** DuckDB bookkeeping of the Meta destination itself: keyed audience names and the upload batch log. */

/**
 * The Meta name of an audience: the configured prefix, the audience, and a short key of this database and the
 * audience, so the name is stable from night to night (a lost create is found again by it) and another store or
 * database sharing the ad account never adopts this one's audience.
 */
export async function keyedAudienceName(wh: Warehouse, prefix: string, audience: string): Promise<string> {
  const row = await wh.one<{ database_id: string }>('SELECT database_id FROM database_identity LIMIT 1');
  if (!row) throw new Error('meta: this database has no identity row (database_identity is empty)');
  const key = createHash('sha256').update(`${row.database_id}\n${audience}`).digest('hex').slice(0, 10);
  return `${prefix}${audience} [${key}]`;
}

export interface BatchRecord {
  runId: string;
  audience: string;
  externalId: string;
  action: 'add' | 'remove' | 'replace';
  sessionId: number;
  batchSeq: number;
  last: boolean;
  rows: number;
  numReceived?: number;
  numInvalid: number;
  invalidSamples?: unknown;
  sessionStartedAt: Date;
}

export async function recordBatch(wh: Warehouse, b: BatchRecord): Promise<void> {
  await wh.run(
    `INSERT INTO meta_sync_batches (run_id, audience, external_id, action, session_id, batch_seq, last_batch, rows_sent,
       num_received, num_invalid_entries, invalid_entry_samples, session_started_at, acknowledged_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::JSON, $12, now()::TIMESTAMP)`,
    [
      b.runId,
      b.audience,
      b.externalId,
      b.action,
      BigInt(b.sessionId),
      b.batchSeq,
      b.last,
      b.rows,
      b.numReceived == null ? null : BigInt(b.numReceived),
      BigInt(b.numInvalid),
      b.invalidSamples == null ? null : JSON.stringify(b.invalidSamples),
      b.sessionStartedAt,
    ],
  );
}

export interface PendingReplace {
  sessionId: number;
  lastSeq: number;
  startedAt: Date;
  /** num_received Meta reported for the session's last acknowledged batch. */
  received: number;
}

/** The latest replace session of this audience that never got its last batch acknowledged. */
export async function pendingReplace(
  wh: Warehouse,
  audience: string,
  externalId: string,
): Promise<PendingReplace | undefined> {
  const row = await wh.one<{
    session_id: bigint;
    last_seq: number;
    started_at: Date;
    received: bigint | null;
  }>(
    `SELECT session_id, max(batch_seq) AS last_seq, min(session_started_at) AS started_at,
       arg_max(num_received, batch_seq) AS received
     FROM meta_sync_batches WHERE audience = $1 AND external_id = $2 AND action = 'replace'
     GROUP BY session_id HAVING NOT bool_or(last_batch)
     ORDER BY started_at DESC LIMIT 1`,
    [audience, externalId],
  );
  if (!row) return undefined;
  // Only if no later session of any kind finished after it.
  return {
    sessionId: Number(row.session_id),
    lastSeq: Number(row.last_seq),
    startedAt: row.started_at,
    received: Number(row.received ?? 0),
  };
}

/** Closes replace sessions we gave up on (Meta timed them out), so they are not resumed again. */
export async function abandonReplace(wh: Warehouse, audience: string, sessionId: number): Promise<void> {
  await wh.run(
    `UPDATE meta_sync_batches SET last_batch = true
     WHERE audience = $1 AND session_id = $2 AND batch_seq = (
       SELECT max(batch_seq) FROM meta_sync_batches WHERE audience = $1 AND session_id = $2)`,
    [audience, BigInt(sessionId)],
  );
}
