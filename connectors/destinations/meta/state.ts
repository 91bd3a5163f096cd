import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { redact } from '../../../shared/redact.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';

/** DuckDB bookkeeping of the Meta destination: audience ids, sync rows, batch log, locks. */

export interface AudienceState {
  external_id: string | null;
  status: string;
  last_synced_size: number | null;
}

export async function getAudienceState(
  wh: Warehouse,
  destination: string,
  audience: string,
): Promise<AudienceState | undefined> {
  const row = await wh.one<{ external_id: string | null; status: string; last_synced_size: bigint | null }>(
    `SELECT external_id, status, last_synced_size FROM destination_audiences
     WHERE destination = $1 AND audience = $2`,
    [destination, audience],
  );
  if (!row) return undefined;
  return {
    external_id: row.external_id,
    status: row.status,
    last_synced_size: row.last_synced_size == null ? null : Number(row.last_synced_size),
  };
}

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

export async function saveAudienceId(
  wh: Warehouse,
  destination: string,
  audience: string,
  externalId: string,
): Promise<void> {
  await wh.run(
    `INSERT INTO destination_audiences (destination, audience, external_id, created_at, status)
     VALUES ($1, $2, $3, now()::TIMESTAMP, 'active')
     ON CONFLICT (destination, audience) DO UPDATE SET external_id = excluded.external_id, status = 'active'`,
    [destination, audience, externalId],
  );
}

export async function setAudienceStatus(
  wh: Warehouse,
  destination: string,
  audience: string,
  status: string,
): Promise<void> {
  await wh.run('UPDATE destination_audiences SET status = $3 WHERE destination = $1 AND audience = $2', [
    destination,
    audience,
    status,
  ]);
}

export async function markSynced(
  wh: Warehouse,
  destination: string,
  audience: string,
  size: number,
): Promise<void> {
  await wh.run(
    `UPDATE destination_audiences SET last_synced_at = now()::TIMESTAMP, last_synced_size = $3
     WHERE destination = $1 AND audience = $2`,
    [destination, audience, size],
  );
}

export async function startSyncRow(wh: Warehouse, runId: string, destination: string, audience: string) {
  await wh.run(
    `INSERT INTO destination_syncs (run_id, destination, audience, started_at, status)
     VALUES ($1, $2, $3, now()::TIMESTAMP, 'running')`,
    [runId, destination, audience],
  );
}

export async function addSyncCounts(
  wh: Warehouse,
  runId: string,
  destination: string,
  audience: string,
  counts: { adds: number; removes: number; invalid: number },
): Promise<void> {
  await wh.run(
    `UPDATE destination_syncs SET adds = adds + $4, removes = removes + $5, invalid_entries = invalid_entries + $6
     WHERE run_id = $1 AND destination = $2 AND audience = $3`,
    [runId, destination, audience, counts.adds, counts.removes, counts.invalid],
  );
}

export async function finishSyncRow(
  wh: Warehouse,
  runId: string,
  destination: string,
  audience: string,
  status: string,
  error?: string,
): Promise<void> {
  const stored = error === undefined ? null : redact(error); // no PII or secret is ever stored
  const n = await wh.run(
    `UPDATE destination_syncs SET status = $4, error = $5, finished_at = now()::TIMESTAMP
     WHERE run_id = $1 AND destination = $2 AND audience = $3`,
    [runId, destination, audience, status, stored],
  );
  if (n === 0) {
    await wh.run(
      `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, status, error)
       VALUES ($1, $2, $3, now()::TIMESTAMP, now()::TIMESTAMP, $4, $5)`,
      [runId, destination, audience, status, stored],
    );
  }
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

// Locks --------------------------------------------------------------------------------------------------------

export type LockResult = { ok: true } | { ok: false; holder: string };

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the per-audience lock. A lock is abandoned (and taken over) when its heartbeat is older than ttlMs, or
 * when it belongs to a process on this host that no longer exists (a crashed run).
 */
export async function acquireLock(
  wh: Warehouse,
  destination: string,
  audience: string,
  runId: string,
  ttlMs: number,
): Promise<LockResult> {
  const host = hostname();
  return wh.transaction(async () => {
    const held = await wh.one<{ run_id: string; host: string; pid: number; heartbeat_at: Date }>(
      'SELECT run_id, host, pid, heartbeat_at FROM destination_locks WHERE destination = $1 AND audience = $2',
      [destination, audience],
    );
    if (held) {
      const stale =
        Date.now() - held.heartbeat_at.getTime() > ttlMs ||
        (held.host === host && held.pid !== process.pid && !processAlive(held.pid));
      if (!stale) {
        return { ok: false as const, holder: `run ${held.run_id} (pid ${held.pid} on ${held.host})` };
      }
      // The run that held it died mid-sync: its sync row stays 'running' forever otherwise.
      await wh.run(
        `UPDATE destination_syncs SET status = 'interrupted', finished_at = now()::TIMESTAMP
         WHERE run_id = $1 AND destination = $2 AND audience = $3 AND status = 'running'`,
        [held.run_id, destination, audience],
      );
      await wh.run('DELETE FROM destination_locks WHERE destination = $1 AND audience = $2', [
        destination,
        audience,
      ]);
    }
    await wh.run(
      `INSERT INTO destination_locks VALUES ($1, $2, $3, $4, $5, now()::TIMESTAMP, now()::TIMESTAMP)`,
      [destination, audience, runId, host, process.pid],
    );
    return { ok: true as const };
  });
}

export async function heartbeat(wh: Warehouse, destination: string, audience: string, runId: string) {
  await wh.run(
    `UPDATE destination_locks SET heartbeat_at = now()::TIMESTAMP
     WHERE destination = $1 AND audience = $2 AND run_id = $3`,
    [destination, audience, runId],
  );
}

export async function releaseLock(wh: Warehouse, destination: string, audience: string, runId: string) {
  await wh.run('DELETE FROM destination_locks WHERE destination = $1 AND audience = $2 AND run_id = $3', [
    destination,
    audience,
    runId,
  ]);
}
