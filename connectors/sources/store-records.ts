import { sqlIdent, sqlList } from '../../warehouse/values.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * Rules every store-platform source (Ecwid, Shopify) shares, so a person is one customer whichever store they
 * bought from and however they checked out (docs/connectors.md, "Store sources: guests").
 *
 * Guest key: an order or abandoned cart without a platform customer id belongs to `guest:<lower(trim(email))>`
 * (no email: no customer). A guest also gets a customers row under that key, built by the source from the
 * order's billing person; consent only when the order says the buyer accepts marketing.
 *
 * A guest's consent is a statement made at checkout, so a guest row that can carry consent (Ecwid's) is versioned
 * (`updated_at`) by when its order was PLACED, not when the order was last changed: a refund, cancellation or edit
 * of an older order, which the platform re-dates and the incremental pull reads again, then never outranks a newer
 * order's statement (a withdrawal stays withdrawn). Shopify's guest rows never carry consent (always false), so
 * their version (the order's updatedAt) only decides whose contact details are kept.
 */

/** The prefix of every guest key: never a platform id (platform ids are numbers or gid:// URIs). */
export const GUEST_PREFIX = 'guest:';

/** SQL: the guest key of an email expression, NULL when the email is absent or blank. */
export function guestKeySql(emailExpr: string): string {
  const email = `lower(trim(CAST(${emailExpr} AS VARCHAR)))`;
  return `CASE WHEN ${email} <> '' THEN '${GUEST_PREFIX}' || ${email} END`;
}

/** SQL: the platform customer id when there is one (as text), else the guest key of the email. */
export function buyerKeySql(customerIdExpr: string, emailExpr: string): string {
  return `COALESCE(NULLIF(trim(CAST(${customerIdExpr} AS VARCHAR)), ''), ${guestKeySql(emailExpr)})`;
}

/** SQL: consent of a guest from an order's marketing flag: only an explicit true is consent (fails closed). */
export function guestConsentSql(acceptsMarketingExpr: string): string {
  return `COALESCE(TRY_CAST(${acceptsMarketingExpr} AS BOOLEAN), false)`;
}

export interface AdoptionResult {
  /** Guest keys that became a registered customer. */
  guests: number;
  orders: number;
  events: number;
  /** Guest customers rows removed. */
  customers: number;
}

/**
 * A guest whose email now belongs to a registered customer (a non-guest customer_id with the same trimmed,
 * lower-cased email) becomes that customer: their orders and events are re-keyed to the registered id, and the
 * guest's customers row and versions are removed, in one transaction. Two registered customers with one email:
 * the lowest id wins (deterministic). Idempotent: a second call finds nothing to do.
 */
export async function adoptRegisteredGuests(wh: Warehouse): Promise<AdoptionResult> {
  const map = `store_guest_adoption_${process.pid}`;
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(map)} AS
     SELECT ${guestKeySql('email')} AS guest_id, min(customer_id) AS customer_id
     FROM customers
     WHERE NOT starts_with(customer_id, '${GUEST_PREFIX}') AND ${guestKeySql('email')} IS NOT NULL
     GROUP BY ALL`,
  );
  try {
    const m = sqlIdent(map);
    // Only guests that exist somewhere are adopted; the map is every registered email, most of them no guest.
    await wh.run(
      `DELETE FROM ${m} WHERE guest_id NOT IN (
         SELECT customer_id FROM customers WHERE starts_with(customer_id, '${GUEST_PREFIX}')
         UNION SELECT customer_id FROM orders WHERE starts_with(customer_id, '${GUEST_PREFIX}')
         UNION SELECT customer_id FROM events WHERE starts_with(customer_id, '${GUEST_PREFIX}'))`,
    );
    const guests = await wh.scalar(`SELECT count(*) FROM ${m}`);
    if (guests === 0) return { guests: 0, orders: 0, events: 0, customers: 0 };
    return await wh.transaction(async () => {
      const rekey = (table: string) =>
        wh.run(
          `UPDATE ${table} SET customer_id = g.customer_id FROM ${m} g WHERE ${table}.customer_id = g.guest_id`,
        );
      const orders = await rekey('orders');
      const events = await rekey('events');
      await wh.run(`DELETE FROM customer_versions WHERE customer_id IN (SELECT guest_id FROM ${m})`);
      const customers = await wh.run(
        `DELETE FROM customers WHERE customer_id IN (SELECT guest_id FROM ${m})`,
      );
      return { guests, orders, events, customers };
    });
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(map)}`);
  }
}

export type StoreTable = 'customers' | 'orders' | 'products';

/** Ids to delete: a SQL relation whose first column is the id, or a list of ids. */
export type StoreIds = { sql: string; params?: readonly unknown[] } | readonly string[];

export interface StoreDeletion {
  table: StoreTable;
  /** Rows removed from the table itself. */
  deleted: number;
  /** Lines removed with deleted orders (order_items), versions with deleted customers (customer_versions). */
  dependents: number;
}

const DEPENDENTS: Record<StoreTable, { table: string; key: string } | null> = {
  customers: { table: 'customer_versions', key: 'customer_id' },
  orders: { table: 'order_items', key: 'order_id' },
  products: null,
};

const KEYS: Record<StoreTable, string> = {
  customers: 'customer_id',
  orders: 'order_id',
  products: 'product_id',
};

/**
 * Removes the rows the store deleted (orders with their lines, customers with their versions), set-based. Opens
 * no transaction: call it inside the one that advances the deletions cursor, so both land or neither. A deleted
 * customer's orders stay (the platform keeps them too).
 */
export async function deleteStoreRecords(
  wh: Warehouse,
  table: StoreTable,
  ids: StoreIds,
): Promise<StoreDeletion> {
  const list = isIdList(ids) ? ids : null;
  if (list?.length === 0) return { table, deleted: 0, dependents: 0 };
  const relation = list ? `SELECT unnest(${sqlList(list)})` : (ids as { sql: string }).sql;
  const params = list ? [] : ((ids as { params?: readonly unknown[] }).params ?? []);
  const inIds = (key: string) =>
    `${sqlIdent(key)} IN (SELECT CAST(id AS VARCHAR) FROM (${relation}) AS ids(id))`;
  const dep = DEPENDENTS[table];
  const dependents = dep ? await wh.run(`DELETE FROM ${dep.table} WHERE ${inIds(dep.key)}`, params) : 0;
  const deleted = await wh.run(`DELETE FROM ${table} WHERE ${inIds(KEYS[table])}`, params);
  return { table, deleted, dependents };
}

function isIdList(ids: StoreIds): ids is readonly string[] {
  return Array.isArray(ids);
}
