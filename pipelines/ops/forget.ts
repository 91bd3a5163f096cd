import { createHash, randomBytes } from 'node:crypto';
import { purgeForgotten } from '../../warehouse/erasure.ts';
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

/** Called after a real (not dry) run synced every destination successfully. */
export async function markForgetRequestsSynced(wh: Warehouse): Promise<void> {
  await wh.run('UPDATE forget_requests SET synced_at = now()::TIMESTAMP WHERE synced_at IS NULL');
}
