import { createHash, randomBytes } from 'node:crypto';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * Data-protection requests ("forget me"). The person's rows are deleted from every raw and audience table and
 * the request is remembered as SHA-256 hashes only (forgotten_customers), so that any later load of old files
 * is purged again by dropForgottenCustomers() before segments are evaluated. destination_members keeps its
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

export interface PurgeResult {
  customers: number;
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

/**
 * The load-path hook: deletes rows of forgotten customers that a load brought back (old files re-read, a
 * source re-pulled). Call it after every source has loaded and before segments are evaluated. Cheap when
 * nobody was ever forgotten.
 */
export async function dropForgottenCustomers(wh: Warehouse): Promise<PurgeResult> {
  if ((await wh.scalar('SELECT count(*) FROM forgotten_customers')) === 0)
    return { customers: 0, deleted: {} };
  return wh.transaction(() => purgeForgotten(wh, 'reload'));
}

/** True when a forget request has not yet reached the destinations. */
export async function pendingForgetRequests(wh: Warehouse): Promise<number> {
  return wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL');
}

/** Called after a real (not dry) run synced every destination successfully. */
export async function markForgetRequestsSynced(wh: Warehouse): Promise<void> {
  await wh.run('UPDATE forget_requests SET synced_at = now()::TIMESTAMP WHERE synced_at IS NULL');
}

const ID = "kind = 'customer_id'";
const EMAIL = "kind = 'email'";
const ORDER = "kind = 'order_id'";

/** Set-based purge of every row linked to a forgotten hash. Runs inside the caller's transaction. */
async function purgeForgotten(wh: Warehouse, requestId: string): Promise<PurgeResult> {
  const hashes = (kind: string) => `(SELECT hash FROM forgotten_customers WHERE ${kind})`;
  // Hash distinct ids rather than every event row: far fewer sha256 calls on big tables.
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE forget_ids AS
     WITH ids AS (
       SELECT customer_id FROM customers
       UNION SELECT customer_id FROM events WHERE customer_id IS NOT NULL
       UNION SELECT customer_id FROM orders WHERE customer_id IS NOT NULL
       UNION SELECT customer_id FROM audience_members
       UNION SELECT customer_id FROM audience_membership_history
     )
     SELECT customer_id FROM ids WHERE sha256(customer_id) IN ${hashes(ID)}
     UNION
     SELECT customer_id FROM customers
     WHERE email IS NOT NULL AND sha256(lower(trim(email))) IN ${hashes(EMAIL)}`,
  );
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE forget_orders AS
     SELECT order_id FROM orders WHERE customer_id IN (SELECT customer_id FROM forget_ids)
     UNION
     SELECT order_id FROM (SELECT DISTINCT order_id FROM order_items) WHERE sha256(order_id) IN ${hashes(ORDER)}`,
  );
  // Remember what this purge found by link (an id found through an email, their emails and orders), so the
  // next reload is caught even when it brings only some of the person's files back.
  await wh.run(
    `INSERT INTO forgotten_customers (kind, hash, request_id, forgotten_at)
     SELECT DISTINCT kind, hash, $1, now()::TIMESTAMP FROM (
       SELECT 'customer_id' AS kind, sha256(customer_id) AS hash FROM forget_ids
       UNION ALL SELECT 'email', sha256(lower(trim(email))) FROM customers
         WHERE email IS NOT NULL AND customer_id IN (SELECT customer_id FROM forget_ids)
       UNION ALL SELECT 'order_id', sha256(order_id) FROM forget_orders
     ) ON CONFLICT DO NOTHING`,
    [requestId],
  );
  const customers = await wh.scalar(
    'SELECT count(*) FROM customers WHERE customer_id IN (SELECT customer_id FROM forget_ids)',
  );
  const inIds = 'customer_id IN (SELECT customer_id FROM forget_ids)';
  const inOrders = 'order_id IN (SELECT order_id FROM forget_orders)';
  const raw = (field: string) => `try(json_extract_string(raw, '$.${field}'))`;
  const deletes: Array<[string, string]> = [
    ['order_items', `DELETE FROM order_items WHERE ${inOrders}`],
    ['orders', `DELETE FROM orders WHERE ${inOrders} OR ${inIds}`],
    ['events', `DELETE FROM events WHERE ${inIds}`],
    [
      'rejected_rows',
      `DELETE FROM rejected_rows WHERE ${raw('customer_id')} IN (SELECT customer_id FROM forget_ids)
         OR ${raw('order_id')} IN (SELECT order_id FROM forget_orders)
         OR sha256(lower(trim(${raw('email')}))) IN ${hashes(EMAIL)}`,
    ],
    ['audience_members', `DELETE FROM audience_members WHERE ${inIds}`],
    ['audience_membership_history', `DELETE FROM audience_membership_history WHERE ${inIds}`],
    ['customers', `DELETE FROM customers WHERE ${inIds}`],
  ];
  const deleted: Record<string, number> = {};
  for (const [table, sql] of deletes) {
    const n = await wh.run(sql);
    if (n > 0) deleted[table] = n;
  }
  await wh.run('DROP TABLE forget_ids');
  await wh.run('DROP TABLE forget_orders');
  return { customers, deleted };
}
