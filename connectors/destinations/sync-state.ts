import { hostname } from 'node:os';
import { type Plan, planRowsSql } from '../../plans/plan.ts';
import { redact } from '../../shared/redact.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * Bookkeeping every destination shares, kept by the sync runner: audience ids and last synced size
 * (destination_audiences), one destination_syncs row per audience and run, and per-audience locks.
 */

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

// Replace sessions ---------------------------------------------------------------------------------------------

/*
 * A replace (Meta's usersreplace) spans several requests, and the destination applies it only when the session's
 * last batch arrives: until then it keeps its old membership. So the old destination_members rows stay the record
 * until that last batch is acknowledged; the rows the session sent are kept in destination_replace_rows (what a
 * resumed session continues from) and also added to destination_members (the destination may hold them once the
 * session ends, even by a timeout): destination_members is always a superset of what the destination may hold,
 * so a forget request is never marked synced early and a replace given up on leaves nobody unrecorded. When the last
 * batch is acknowledged, destination_members becomes exactly the rows the session sent.
 */

/**
 * Records one acknowledged replace batch (plan rows `offset` to `offset + limit` of its adds), in the caller's
 * transaction. `first`: the first batch of a new session (drops what an earlier session had sent); `last`: the
 * session's last batch (the destination now holds exactly the session's rows).
 */
export async function confirmReplaceRows(
  wh: Warehouse,
  plan: Plan,
  offset: number,
  limit: number,
  batch: { first: boolean; last: boolean },
): Promise<void> {
  const key = [plan.destination, plan.audience];
  const rows = planRowsSql(plan, 'add', offset, limit);
  if (batch.first) await discardReplaceRows(wh, plan.destination, plan.audience);
  await addRows(wh, 'destination_replace_rows', key, rows);
  if (batch.last) {
    await wh.run('DELETE FROM destination_members WHERE destination = $1 AND audience = $2', key);
    await wh.run(
      `INSERT INTO destination_members (destination, audience, customer_id, fingerprint, payload, synced_at)
       SELECT destination, audience, customer_id, fingerprint, payload, synced_at FROM destination_replace_rows
       WHERE destination = $1 AND audience = $2`,
      key,
    );
    await discardReplaceRows(wh, plan.destination, plan.audience);
    return;
  }
  // Not applied yet: the old rows stay, and the destination may hold these too once the session ends.
  await addRows(wh, 'destination_members', key, rows);
}

/** Adds `rows` to one audience's rows of `table` (same columns as destination_members), but for rows it holds. */
async function addRows(wh: Warehouse, table: string, key: string[], rows: string): Promise<void> {
  await wh.run(
    `INSERT INTO ${table} (destination, audience, customer_id, fingerprint, payload, synced_at)
     SELECT $1, $2, b.customer_id, b.fingerprint, b.payload, now()::TIMESTAMP FROM (${rows}) b
     WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.destination = $1 AND t.audience = $2
                         AND t.customer_id = b.customer_id AND t.fingerprint = b.fingerprint)`,
    key,
  );
}

/**
 * Forgets the rows of a replace session that will not be continued (redone, or given up on). They stay in
 * destination_members with the old rows, so the next diff removes whatever of both the destination may hold.
 */
export async function discardReplaceRows(
  wh: Warehouse,
  destination: string,
  audience: string,
): Promise<void> {
  await wh.run('DELETE FROM destination_replace_rows WHERE destination = $1 AND audience = $2', [
    destination,
    audience,
  ]);
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
