import type { RawTable } from './table-specs.ts';
import { sqlIdent, sqlString } from './values.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * Erasure in the warehouse. forgotten_customers holds SHA-256 hashes only: of customer ids as given, of trimmed
 * lower-cased emails, and of the order ids linked to a forgotten person. Every load drops the rows of those
 * people from its staged batch before anything is quarantined or merged (dropForgottenStaged), so no load, not
 * even one that fails later in the run, ever brings a forgotten person back; purgeForgotten deletes what is
 * already stored when a request arrives.
 */

export type ForgottenKind = 'customer_id' | 'email' | 'order_id';

export interface PurgeResult {
  customers: number;
  deleted: Record<string, number>;
}

interface Match {
  column: string;
  kind: ForgottenKind;
}

/** The columns of a staged table that identify a forgotten person, and the hash each is compared as. */
const MATCHES: Partial<Record<RawTable, Match[]>> = {
  customers: [
    { column: 'customer_id', kind: 'customer_id' },
    { column: 'email', kind: 'email' },
  ],
  orders: [
    { column: 'customer_id', kind: 'customer_id' },
    { column: 'order_id', kind: 'order_id' },
  ],
  order_items: [{ column: 'order_id', kind: 'order_id' }],
  events: [{ column: 'customer_id', kind: 'customer_id' }],
};

/**
 * What a dropped row links to, remembered as hashes: a customer found by email gives their id (so their orders
 * and events are dropped too), a dropped order its id (so its lines are).
 */
const LINKS: Partial<Record<RawTable, Match[]>> = {
  customers: MATCHES.customers,
  orders: [{ column: 'order_id', kind: 'order_id' }],
};

/** Rows the loads on a warehouse dropped since its last dropForgottenCustomers(), reported with the run. */
const droppedByLoads = new WeakMap<Warehouse, Record<string, number>>();

const hashes = (kind: ForgottenKind) => `(SELECT hash FROM forgotten_customers WHERE kind = '${kind}')`;

/** The value hashed for a kind: emails are compared trimmed and lower-cased, ids as given. */
const hashed = (m: Match) => (m.kind === 'email' ? `lower(trim(${sqlIdent(m.column)}))` : sqlIdent(m.column));

/**
 * Deletes the staged rows (good and quarantined alike) of forgotten people from a load's staging table and
 * remembers what they link to. Returns the rows dropped. One tiny query when nobody was ever forgotten.
 */
export async function dropForgottenStaged(wh: Warehouse, table: RawTable, staging: string): Promise<number> {
  const matches = MATCHES[table];
  if (!matches || (await wh.scalar('SELECT count(*) FROM forgotten_customers')) === 0) return 0;
  const stg = sqlIdent(staging);
  // Hash distinct values rather than every row: far fewer sha256 calls on big batches.
  const hit = matches
    .map(
      (
        m,
      ) => `${hashed(m)} IN (SELECT v FROM (SELECT DISTINCT ${hashed(m)} AS v FROM ${stg} WHERE ${sqlIdent(m.column)} IS NOT NULL)
              WHERE sha256(v) IN ${hashes(m.kind)})`,
    )
    .join(' OR ');
  for (const link of LINKS[table] ?? []) {
    await wh.run(
      `INSERT INTO forgotten_customers (kind, hash, request_id, forgotten_at)
       SELECT DISTINCT '${link.kind}', sha256(${hashed(link)}), 'load', now()::TIMESTAMP
       FROM ${stg} WHERE (${hit}) AND ${sqlIdent(link.column)} IS NOT NULL
       ON CONFLICT DO NOTHING`,
    );
  }
  const counts = await wh.one<{ good: bigint; rejected: bigint }>(
    `SELECT count(*) FILTER (WHERE _reason IS NULL) AS good, count(*) FILTER (WHERE _reason IS NOT NULL) AS rejected
     FROM ${stg} WHERE ${hit}`,
  );
  const good = Number(counts?.good ?? 0);
  const rejected = Number(counts?.rejected ?? 0);
  if (good + rejected === 0) return 0;
  await wh.run(`DELETE FROM ${stg} WHERE ${hit}`);
  tally(wh, { [table]: good, rejected_rows: rejected });
  return good + rejected;
}

function tally(wh: Warehouse, counts: Record<string, number>): void {
  const sum = droppedByLoads.get(wh) ?? {};
  for (const [table, n] of Object.entries(counts)) if (n > 0) sum[table] = (sum[table] ?? 0) + n;
  droppedByLoads.set(wh, sum);
}

/**
 * What forgotten people's rows the loads since the last call dropped, plus a safety-net purge of anything
 * stored (e.g. rows written by a path that does not load through the ingest). Cheap when nobody was forgotten.
 * Also deletes parsed phone numbers (phone_numbers) that no customer holds any more.
 */
export async function dropForgottenCustomers(wh: Warehouse): Promise<PurgeResult> {
  const dropped = droppedByLoads.get(wh) ?? {};
  droppedByLoads.delete(wh);
  const result: PurgeResult = { customers: dropped.customers ?? 0, deleted: { ...dropped } };
  // Parsed phone numbers are raw PII: none outlives the last customer holding it, whatever this run syncs.
  await wh.run(
    'DELETE FROM phone_numbers WHERE phone NOT IN (SELECT phone FROM customers WHERE phone IS NOT NULL)',
  );
  if ((await wh.scalar('SELECT count(*) FROM forgotten_customers')) === 0) return result;
  const purge = await wh.transaction(() => purgeForgotten(wh, 'reload'));
  result.customers += purge.customers;
  for (const [table, n] of Object.entries(purge.deleted))
    result.deleted[table] = (result.deleted[table] ?? 0) + n;
  return result;
}

/** Set-based purge of every stored row linked to a forgotten hash. Runs inside the caller's transaction. */
export async function purgeForgotten(wh: Warehouse, requestId: string): Promise<PurgeResult> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE forget_ids AS
     WITH ids AS (
       SELECT customer_id FROM customers
       UNION SELECT customer_id FROM events WHERE customer_id IS NOT NULL
       UNION SELECT customer_id FROM orders WHERE customer_id IS NOT NULL
       UNION SELECT customer_id FROM audience_members
       UNION SELECT customer_id FROM audience_membership_history
     )
     SELECT customer_id FROM ids WHERE sha256(customer_id) IN ${hashes('customer_id')}
     UNION
     SELECT customer_id FROM customers
     WHERE email IS NOT NULL AND sha256(lower(trim(email))) IN ${hashes('email')}`,
  );
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE forget_orders AS
     SELECT order_id FROM orders WHERE customer_id IN (SELECT customer_id FROM forget_ids)
     UNION
     SELECT order_id FROM (SELECT DISTINCT order_id FROM order_items) WHERE sha256(order_id) IN ${hashes('order_id')}`,
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
  const deleted: Record<string, number> = {};
  for (const [table, sql] of [...purgeStatements(), ...hashedRecordStatements()]) {
    const n = await wh.run(sql);
    if (n > 0) deleted[table] = n;
  }
  await wh.run('DROP TABLE forget_ids');
  await wh.run('DROP TABLE forget_orders');
  return { customers, deleted };
}

/**
 * Source bookkeeping tables that remember loaded rows by the SHA-256 of their id (object -> the kind of id it holds),
 * e.g. what a source's deletion scan may remove. A forgotten person's entries go with the erasure, not at the next
 * scan: their hashes are still personal data linked to the store's records.
 */
const HASHED_ID_RECORDS: ReadonlyArray<{ table: string; objects: Record<string, ForgottenKind> }> = [
  { table: 'shopify_records', objects: { customers: 'customer_id', orders: 'order_id' } },
];

/**
 * One DELETE per bookkeeping table, matched against the stored hashes themselves (which by now include everything
 * this purge found by link), so an entry goes even when its row is already gone.
 */
function hashedRecordStatements(): Array<[string, string]> {
  return HASHED_ID_RECORDS.map(({ table, objects }) => [
    table,
    `DELETE FROM ${sqlIdent(table)} WHERE ${Object.entries(objects)
      .map(([object, kind]) => `(object = ${sqlString(object)} AND id IN ${hashes(kind)})`)
      .join(' OR ')}`,
  ]);
}

/** One DELETE per table holding a forgotten person's rows (customers last: the others are found through it). */
function purgeStatements(): Array<[string, string]> {
  const inIds = 'customer_id IN (SELECT customer_id FROM forget_ids)';
  const inOrders = 'order_id IN (SELECT order_id FROM forget_orders)';
  const raw = (field: string) => `try(json_extract_string(raw, '$.${field}'))`;
  return [
    ['order_items', `DELETE FROM order_items WHERE ${inOrders}`],
    ['orders', `DELETE FROM orders WHERE ${inOrders} OR ${inIds}`],
    ['events', `DELETE FROM events WHERE ${inIds}`],
    [
      'rejected_rows',
      // By hash too: a person whose only trace is a quarantined row is in none of the tables forget_ids reads.
      `DELETE FROM rejected_rows WHERE ${raw('customer_id')} IN (SELECT customer_id FROM forget_ids)
         OR ${raw('order_id')} IN (SELECT order_id FROM forget_orders)
         OR sha256(${raw('customer_id')}) IN ${hashes('customer_id')}
         OR sha256(${raw('order_id')}) IN ${hashes('order_id')}
         OR sha256(lower(trim(${raw('email')}))) IN ${hashes('email')}`,
    ],
    ['audience_members', `DELETE FROM audience_members WHERE ${inIds}`],
    ['audience_membership_history', `DELETE FROM audience_membership_history WHERE ${inIds}`],
    ['customer_versions', `DELETE FROM customer_versions WHERE ${inIds}`],
    // Parsed phone numbers are keyed by the raw number: every entry of the person's number goes.
    [
      'phone_numbers',
      `DELETE FROM phone_numbers WHERE phone IN (SELECT phone FROM customers WHERE ${inIds})`,
    ],
    ['customers', `DELETE FROM customers WHERE ${inIds}`],
  ];
}
