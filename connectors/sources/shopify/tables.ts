import type { RawTable } from '../../../warehouse/table-specs.ts';
import { sqlIdent } from '../../../warehouse/values.ts';
import { guestKeySql } from '../store-records.ts';
import { gidTail, orderBuyerSql, type ShopifyObjectName } from './objects.ts';

/**
 * How the lines of one bulk result (a temp table `s`, one row per JSONL line numbered in file order as line_no,
 * with the numeric tails of id and __parentId as _id and _parent) become warehouse rows, set-based. Roots are the
 * lines without __parentId; children (line items, collections) join their root by __parentId = root id, wherever
 * they are in the file.
 */

export interface TableLoad {
  table: RawTable;
  relationSql: string;
  /** Deleted first, in the same transaction: rows this batch restates (an order's lines, a checkout's events). */
  replace?: string;
}

/** Source label of the rows in `events` (and of rejected rows). */
export const SHOPIFY_SOURCE = 'shopify';

/**
 * Purchase status: cancelled and fully refunded orders are not purchases (completed_orders excludes 'cancelled'
 * and 'refunded', which REFUNDED lower-cases to); a voided payment is a cancelled sale. An order whose payment is
 * pending or whose authorisation expired is 'unpaid' (not a purchase, as Ecwid's awaiting payment: 0023) until
 * Shopify says it is paid. Anything else keeps Shopify's financial state ('paid', 'authorized',
 * 'partially_refunded', ...), which counts as a purchase; the fulfilment state does not change that.
 */
export const ORDER_STATUS_SQL = `CASE
  WHEN cancelledAt IS NOT NULL OR displayFinancialStatus = 'VOIDED' THEN 'cancelled'
  WHEN displayFinancialStatus IN ('PENDING', 'EXPIRED') THEN 'unpaid'
  ELSE coalesce(lower(displayFinancialStatus), 'completed') END`;

/** Consent is the default email's marketing state (older shops: emailMarketingConsent): only SUBSCRIBED is consent. */
export const CONSENT_SQL = `coalesce(coalesce(defaultEmailAddress.marketingState, emailMarketingConsent.marketingState) = 'SUBSCRIBED', false)`;

const ROOTS = '__parentId IS NULL';
const CHILDREN = '__parentId IS NOT NULL';

/** The table loads of one object's lines, in load order (the last one carries the cursor). */
export function tableLoads(object: ShopifyObjectName, stage: string): TableLoad[] {
  const s = sqlIdent(stage);
  switch (object) {
    case 'customers':
      return [
        {
          table: 'customers',
          relationSql: `SELECT _id AS customer_id, defaultEmailAddress.emailAddress AS email,
              defaultPhoneNumber.phoneNumber AS phone, firstName AS first_name, lastName AS last_name,
              defaultAddress.city AS city, defaultAddress.province AS state, defaultAddress.zip AS zip,
              defaultAddress.countryCodeV2 AS country, createdAt AS created_at, updatedAt AS updated_at,
              ${CONSENT_SQL} AS ads_consent
            FROM ${s} WHERE ${ROOTS}`,
        },
      ];
    case 'products':
      return [
        {
          table: 'products',
          // Category: the product type, else the first collection listed for the product. Price: the lowest variant
          // price with its currency code (priceRangeV2 is in the shop's currency).
          relationSql: `WITH first_collection AS (
              SELECT __parentId AS product, arg_min(title, line_no) AS title FROM ${s} WHERE ${CHILDREN} GROUP BY 1)
            SELECT p._id AS product_id, p.title AS name,
              coalesce(NULLIF(trim(p.productType), ''), c.title) AS category,
              p.priceRangeV2.minVariantPrice.amount AS price, p.priceRangeV2.minVariantPrice.currencyCode AS currency
            FROM ${s} p LEFT JOIN first_collection c ON c.product = p.id WHERE p.${ROOTS}`,
        },
      ];
    case 'orders':
      return [
        { table: 'customers', relationSql: guestCustomersSql(s) },
        {
          table: 'orders',
          relationSql: `SELECT _id AS order_id, ${orderBuyerSql('customer.id', 'email')} AS customer_id,
              createdAt AS ordered_at, ${ORDER_STATUS_SQL} AS status,
              totalPriceSet.shopMoney.amount AS total, totalPriceSet.shopMoney.currencyCode AS currency
            FROM ${s} WHERE ${ROOTS}`,
        },
        {
          table: 'order_items',
          // One row per order and product (two variants of a product are one line): quantities summed, the
          // unit price their quantity-weighted mean. Lines of no catalogue product (custom items) are left out.
          relationSql: `SELECT _parent AS order_id, ${gidTail('product.id')} AS product_id,
              sum(quantity) AS quantity,
              sum(quantity * TRY_CAST(originalUnitPriceSet.shopMoney.amount AS DECIMAL(18, 4)))
                / NULLIF(sum(quantity), 0) AS unit_price
            FROM ${s} WHERE ${CHILDREN} AND product.id IS NOT NULL GROUP BY ALL`,
          replace: `order_id IN (SELECT _id FROM ${s} WHERE ${ROOTS})`,
        },
      ];
    case 'checkouts':
      return [
        {
          table: 'events',
          relationSql: checkoutEventsSql(s),
          // A re-read checkout restates its events: changed lines replace the old, a completed one leaves.
          replace: `source = '${SHOPIFY_SOURCE}' AND starts_with(event_id, 'shopify:checkout:')
            AND split_part(event_id, ':', 3) IN (SELECT _id FROM ${s} WHERE ${ROOTS})`,
        },
      ];
  }
}

/**
 * Guests (orders without a customer) as customers under their guest key, from their newest order's email, phone
 * and billing address. Never consent: Shopify records marketing consent on customers, and a guest is none.
 */
function guestCustomersSql(s: string): string {
  const key = guestKeySql('email');
  return `SELECT ${key} AS customer_id, email, phone, billingAddress.firstName AS first_name,
      billingAddress.lastName AS last_name, billingAddress.city AS city, billingAddress.province AS state,
      billingAddress.zip AS zip, billingAddress.countryCodeV2 AS country,
      min(createdAt) OVER (PARTITION BY ${key}) AS created_at, updatedAt AS updated_at, false AS ads_consent
    FROM ${s} WHERE ${ROOTS} AND customer.id IS NULL AND ${key} IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY updatedAt DESC, id DESC) = 1`;
}

/**
 * An abandoned checkout is an add_to_cart and a begin_checkout of its customer per line item, at the time the
 * checkout was created, counted by quantity. A completed checkout is no longer abandoned (no events); one without
 * a customer has no one to attribute it to (Shopify gives an abandoned checkout no email of its own).
 */
function checkoutEventsSql(s: string): string {
  return `WITH checkout AS (SELECT id, _id, createdAt, completedAt, customer FROM ${s} WHERE ${ROOTS})
    SELECT 'shopify:checkout:' || c._id || ':' || l._id || ':' || e.name AS event_id,
      ${gidTail('c.customer.id')} AS customer_id, e.name AS event_name, ${gidTail('l.product.id')} AS product_id,
      c.createdAt AS occurred_at, l.quantity AS event_count, '${SHOPIFY_SOURCE}' AS source
    FROM ${s} l JOIN checkout c ON l.__parentId = c.id
    CROSS JOIN (VALUES ('add_to_cart'), ('begin_checkout')) AS e(name)
    WHERE c.completedAt IS NULL AND c.customer.id IS NOT NULL AND l.product.id IS NOT NULL AND l.quantity > 0`;
}

/** SQL counting lines the mapping leaves out on purpose, reported with the load (not rejected rows). */
export function skippedSql(object: ShopifyObjectName, stage: string): string | null {
  const s = sqlIdent(stage);
  if (object === 'orders') return `SELECT count(*) FROM ${s} WHERE ${CHILDREN} AND product.id IS NULL`;
  if (object === 'checkouts')
    return `SELECT count(*) FROM ${s} WHERE ${ROOTS} AND completedAt IS NULL AND customer.id IS NULL`;
  return null;
}
