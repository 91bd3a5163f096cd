import { createHash, randomBytes } from 'node:crypto';
import { purgeForgotten } from '../../warehouse/erasure.ts';
import { sqlList } from '../../warehouse/values.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

// The run's safety net after every load; loads themselves already drop forgotten people (warehouse/erasure.ts).
export { dropForgottenCustomers, type PurgeResult } from '../../warehouse/erasure.ts';

/**
 * Data-protection requests ("forget me"). The person's rows are deleted from every raw and audience table and
 * the request is remembered as SHA-256 hashes only (forgotten_customers), so that every later load drops the
 * person's rows before they are stored (warehouse/erasure.ts), whatever the source. destination_members keeps its
 * hashed payload on purpose: the next sync plans a remove from each ad platform, then deletes those rows.
 */

export type SubjectKind = 'customer_id' | 'email';

export interface ForgetResult {
  requestId: string;
  subjectKind: SubjectKind;
  subjectHash: string;
  /** Customer rows that matched (0: nothing stored yet; the request still blocks future loads). */
  customers: number;
  /** Rows deleted per table. */
  deleted: Record<string, number>;
}

export function subjectKind(subject: string): SubjectKind {
  return subject.includes('@') ? 'email' : 'customer_id';
}

/** The hash stored for a subject: sha256 hex of the id as given, or of the trimmed, lower-cased email. */
export function subjectHash(subject: string): string {
  const value = subjectKind(subject) === 'email' ? subject.trim().toLowerCase() : subject;
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Forgets a customer by id or email: records the request (hashes only) and deletes their rows. */
export async function forgetCustomer(wh: Warehouse, subject: string): Promise<ForgetResult> {
  const kind = subjectKind(subject);
  const value = kind === 'email' ? subject.trim().toLowerCase() : subject;
  if (!value) throw new Error('forget: give a customer id or an email address');
  const requestId = `f${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
  const hash = subjectHash(subject);
  return wh.transaction(async () => {
    // The subject itself, then everything it links to: the customer's ids, emails and orders.
    await wh.run(
      `INSERT INTO forgotten_customers (kind, hash, request_id, forgotten_at)
       VALUES ($1, $2, $3, now()::TIMESTAMP) ON CONFLICT DO NOTHING`,
      [kind, hash, requestId],
    );
    const customers = await wh.scalar(
      kind === 'email'
        ? 'SELECT count(*) FROM customers WHERE lower(trim(email)) = $1'
        : 'SELECT count(*) FROM customers WHERE customer_id = $1',
      [value],
    );
    const purge = await purgeForgotten(wh, requestId);
    await wh.run(
      `INSERT INTO forget_requests (request_id, requested_at, subject_kind, subject_hash, customers, rows_deleted)
       VALUES ($1, now()::TIMESTAMP, $2, $3, $4, $5)`,
      [requestId, kind, hash, customers, JSON.stringify(purge.deleted)],
    );
    return { requestId, subjectKind: kind, subjectHash: hash, customers, deleted: purge.deleted };
  });
}

/** True when a forget request has not yet reached the destinations. */
export async function pendingForgetRequests(wh: Warehouse): Promise<number> {
  return wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL');
}

/** A destination that still holds a person a pending forget request covers. */
export interface ForgetHolder {
  requestId: string;
  destination: string;
  audiences: number;
}

/**
 * Where pending forget requests are still held: destination_members rows of a forgotten customer, matched by
 * hash (the raw ids are gone). A request covers its subject when it is an id, and every id it (or an earlier
 * request for the same subject) was linked to.
 */
export async function forgetHolders(wh: Warehouse): Promise<ForgetHolder[]> {
  const rows = await wh.all<{ request_id: string; destination: string; audiences: bigint }>(
    `WITH pending AS (SELECT request_id, subject_kind, subject_hash FROM forget_requests WHERE synced_at IS NULL),
     -- A repeated request (the same person again) finds its links under the request that first recorded them.
     owners AS (
       SELECT request_id, request_id AS owner FROM pending
       UNION SELECT p.request_id, f.request_id FROM pending p JOIN forgotten_customers f ON f.hash = p.subject_hash
     ),
     ids AS (
       SELECT o.request_id, f.hash FROM owners o
       JOIN forgotten_customers f ON f.kind = 'customer_id' AND f.request_id = o.owner
       UNION SELECT request_id, subject_hash FROM pending WHERE subject_kind = 'customer_id'
     ),
     held AS (
       SELECT destination, audience, sha256(customer_id) AS hash FROM destination_members
       WHERE sha256(customer_id) IN (SELECT hash FROM ids)
     )
     SELECT ids.request_id, held.destination, count(DISTINCT held.audience) AS audiences
     FROM ids JOIN held USING (hash) GROUP BY ALL ORDER BY ALL`,
  );
  return rows.map((r) => ({
    requestId: r.request_id,
    destination: r.destination,
    audiences: Number(r.audiences),
  }));
}

/**
 * Marks pending forget requests synced once no destination holds their person any more: confirmed removals
 * only, never a run that merely finished (a held, failed or skipped destination keeps the request pending).
 */
export async function markForgetRequestsSynced(wh: Warehouse): Promise<void> {
  if ((await pendingForgetRequests(wh)) === 0) return;
  const holders = await forgetHolders(wh);
  await wh.run(
    `UPDATE forget_requests SET synced_at = now()::TIMESTAMP
     WHERE synced_at IS NULL AND request_id NOT IN (SELECT unnest(${sqlList(holders.map((h) => h.requestId))}))`,
  );
}
