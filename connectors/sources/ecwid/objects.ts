import type { RawTable } from '../../../warehouse/table-specs.ts';
import { sqlIdent, sqlString } from '../../../warehouse/values.ts';
import { buyerKeySql, GUEST_PREFIX, guestConsentSql, guestKeySql } from '../store-records.ts';

/**
 * What each Ecwid list endpoint is and how a chunk of its items (JSON lines, as Ecwid returned them) maps to the
 * raw tables, all in DuckDB SQL. Field names follow Ecwid's REST API v3 (docs/ecwid.md).
 */

/** The `source` of events pulled from Ecwid (abandoned carts). */
export const ECWID_EVENT_SOURCE = 'ecwid';

export type EcwidObjectName = 'customers' | 'products' | 'orders' | 'carts';

/** One relation loaded into one raw table through ingestRelation. */
export interface ChunkLoad {
  table: RawTable;
  relationSql: string;
  /** Rows of the table to replace with this chunk's (an order's lines: a removed line goes). */
  replaceWhere?: string;
}

export interface ChunkContext {
  /** The store currency (profile formatsAndUnits.currency), for orders that carry none. */
  currency: string | null;
  /** Temp table of category ids and names, for the products' default category. */
  categories: string;
}

export interface EcwidObjectSpec {
  name: EcwidObjectName;
  path: string;
  /** Trims the payload to the fields mapped below (Ecwid's responseFields). */
  responseFields: string;
  /** read_json column types; fields not named are ignored. */
  columns: Record<string, string>;
  /** The raw tables a chunk fills, in commit order (the last one carries the cursor). */
  loads(items: string, ctx: ChunkContext): ChunkLoad[];
}

const PERSON =
  'STRUCT(name VARCHAR, firstName VARCHAR, lastName VARCHAR, phone VARCHAR, city VARCHAR, stateOrProvinceCode VARCHAR, postalCode VARCHAR, countryCode VARCHAR)';
const PERSON_FIELDS = 'name,firstName,lastName,phone,city,stateOrProvinceCode,postalCode,countryCode';

/** Ecwid dates ('2024-05-01 05:26:28 +0000', UTC) or UNIX seconds, as a UTC TIMESTAMP. */
function ecwidTime(seconds: string | null, text: string): string {
  const parsed = `CAST(TRY_STRPTIME(${text}, '%Y-%m-%d %H:%M:%S %z') AS TIMESTAMP)`;
  return seconds ? `COALESCE(make_timestamp(${seconds} * 1000000), ${parsed})` : parsed;
}

/** Only an explicit true is consent: false, null or anything unreadable is none. */
const consent = (flag: string) => guestConsentSql(flag);

/** The billing person's contact columns, as customers columns. */
function personColumns(p: string): string {
  return `${p}.firstName AS first_name, ${p}.lastName AS last_name, ${p}.city AS city,
    ${p}.stateOrProvinceCode AS state, ${p}.postalCode AS zip, ${p}.countryCode AS country`;
}

/** An order's key: its order number, which is also the id /orders/deleted reports. */
const ORDER_KEY = 'CAST(COALESCE(CAST(orderNumber AS VARCHAR), id) AS VARCHAR)';
/** Ecwid's customerId is absent (or 0) for a guest checkout. */
const BUYER = buyerKeySql(`NULLIF(CAST(customerId AS VARCHAR), '0')`, 'email');

/**
 * Payment status to the statuses completed_orders understands: cancelled, refunded and unpaid orders are not
 * purchases (PARTIALLY_REFUNDED is one: something was kept). Unknown statuses stay as sent, lower-cased.
 */
const STATUS = `CASE upper(paymentStatus)
  WHEN 'PAID' THEN 'completed' WHEN 'PARTIALLY_REFUNDED' THEN 'completed'
  WHEN 'CANCELLED' THEN 'cancelled' WHEN 'REFUNDED' THEN 'refunded'
  WHEN 'AWAITING_PAYMENT' THEN 'unpaid' WHEN 'INCOMPLETE' THEN 'unpaid'
  ELSE lower(paymentStatus) END`;

const customers: EcwidObjectSpec = {
  name: 'customers',
  path: 'customers',
  responseFields: `total,count,offset,limit,items(id,email,registered,updated,acceptMarketing,contacts,billingPerson(${PERSON_FIELDS}))`,
  columns: {
    id: 'VARCHAR',
    email: 'VARCHAR',
    registered: 'VARCHAR',
    updated: 'VARCHAR',
    acceptMarketing: 'VARCHAR',
    contacts: 'STRUCT(contact VARCHAR, type VARCHAR, "default" BOOLEAN)[]',
    billingPerson: PERSON,
  },
  loads: (items) => [
    {
      table: 'customers',
      relationSql: `SELECT id AS customer_id,
          COALESCE(NULLIF(trim(email), ''), list_filter(contacts, c -> c.type = 'EMAIL')[1].contact) AS email,
          COALESCE(billingPerson.phone, list_filter(contacts, c -> c.type = 'PHONE')[1].contact) AS phone,
          ${personColumns('billingPerson')},
          ${ecwidTime(null, 'registered')} AS created_at,
          ${consent('acceptMarketing')} AS ads_consent,
          ${ecwidTime(null, 'updated')} AS updated_at
        FROM ${items}`,
    },
  ],
};

/** The store currency as a SQL literal (NULL when the profile names none). */
const storeCurrency = (ctx: ChunkContext) => (ctx.currency === null ? 'NULL' : sqlString(ctx.currency));

const products: EcwidObjectSpec = {
  name: 'products',
  path: 'products',
  responseFields: 'total,count,offset,limit,items(id,name,price,defaultCategoryId)',
  columns: { id: 'VARCHAR', name: 'VARCHAR', price: 'DOUBLE', defaultCategoryId: 'VARCHAR' },
  loads: (items, ctx) => [
    {
      table: 'products',
      // Ecwid prices are in the store currency (the profile's), products carry none of their own.
      relationSql: `SELECT p.id AS product_id, p.name, c.name AS category, p.price, ${storeCurrency(ctx)} AS currency
        FROM ${items} p LEFT JOIN ${sqlIdent(ctx.categories)} c ON c.id = p.defaultCategoryId`,
    },
  ],
};

/** When an order was placed: the time its buyer made the marketing choice it carries. */
const PLACED = ecwidTime('createTimestamp', 'createDate');

/**
 * Guests as customers, from their orders' billing person. A guest's consent is a statement made at checkout, so
 * its version (`updated_at`) is when the order was PLACED, never when it was last changed: a refund, cancellation
 * or any edit of an older order (which Ecwid re-dates, so the incremental pull reads it again) cannot outrank a
 * newer order's statement, and a withdrawal stays withdrawn until the guest places a newer order that accepts
 * marketing. The newest placed order of a guest in the chunk wins; orders placed in the same second: a decline
 * wins (the merge settles ties with stored rows the same way). An order with no readable creation time has no
 * place among the statements: no consent.
 */
function guestCustomersSql(items: string): string {
  const key = guestKeySql('email');
  const accepts = `(${PLACED} IS NOT NULL AND ${consent('acceptMarketing')})`;
  return `SELECT ${key} AS customer_id, trim(email) AS email,
      billingPerson.phone AS phone, ${personColumns('billingPerson')},
      ${PLACED} AS created_at, ${accepts} AS ads_consent, ${PLACED} AS updated_at
    FROM ${items} WHERE starts_with(${BUYER}, '${GUEST_PREFIX}')
    QUALIFY row_number() OVER (PARTITION BY ${key}
      ORDER BY ${PLACED} DESC NULLS LAST, ${accepts}, TRY_CAST(orderNumber AS BIGINT) DESC NULLS LAST, id DESC) = 1`;
}

const orders: EcwidObjectSpec = {
  name: 'orders',
  path: 'orders',
  responseFields: `total,count,offset,limit,items(id,orderNumber,email,customerId,acceptMarketing,paymentStatus,total,currency,createDate,createTimestamp,updateDate,updateTimestamp,billingPerson(${PERSON_FIELDS}),items(productId,price,quantity))`,
  columns: {
    id: 'VARCHAR',
    orderNumber: 'VARCHAR',
    email: 'VARCHAR',
    customerId: 'VARCHAR',
    acceptMarketing: 'VARCHAR',
    paymentStatus: 'VARCHAR',
    total: 'DOUBLE',
    currency: 'VARCHAR',
    createDate: 'VARCHAR',
    createTimestamp: 'BIGINT',
    updateDate: 'VARCHAR',
    updateTimestamp: 'BIGINT',
    billingPerson: PERSON,
    items: 'STRUCT(productId VARCHAR, price DOUBLE, quantity INTEGER)[]',
  },
  loads: (items, ctx) => {
    const lines = `SELECT ${ORDER_KEY} AS order_id, unnest(items) AS i FROM ${items}`;
    return [
      // Guests first, so a guest's orders never name a customer that is not there yet.
      {
        table: 'customers',
        relationSql: guestCustomersSql(items),
      },
      {
        table: 'order_items',
        // One line per product (the table's key): lines of one product with different options are summed.
        relationSql: `SELECT order_id, CAST(i.productId AS VARCHAR) AS product_id,
            sum(COALESCE(i.quantity, 1)) AS quantity,
            sum(i.price * COALESCE(i.quantity, 1)) / NULLIF(sum(COALESCE(i.quantity, 1)), 0) AS unit_price
          FROM (${lines}) GROUP BY ALL`,
        replaceWhere: `order_id IN (SELECT ${ORDER_KEY} FROM ${items})`,
      },
      {
        table: 'orders',
        relationSql: `SELECT ${ORDER_KEY} AS order_id, ${BUYER} AS customer_id,
            ${ecwidTime('createTimestamp', 'createDate')} AS ordered_at, ${STATUS} AS status, total,
            COALESCE(NULLIF(trim(currency), ''), ${storeCurrency(ctx)}) AS currency
          FROM ${items}`,
      },
    ];
  },
};

const carts: EcwidObjectSpec = {
  name: 'carts',
  path: 'carts',
  responseFields:
    'total,count,offset,limit,items(cartId,email,customerId,createDate,createTimestamp,updateDate,updateTimestamp,items(productId))',
  columns: {
    cartId: 'VARCHAR',
    email: 'VARCHAR',
    customerId: 'VARCHAR',
    createDate: 'VARCHAR',
    createTimestamp: 'BIGINT',
    updateDate: 'VARCHAR',
    updateTimestamp: 'BIGINT',
    items: 'STRUCT(productId VARCHAR)[]',
  },
  loads: (items) => [
    // A guest who only abandoned a cart is still someone to retarget: a customers row (no consent) when the key
    // has none yet; an order's billing details, pulled before, are never overwritten by a cart's bare email.
    {
      table: 'customers',
      relationSql: `SELECT ${BUYER} AS customer_id, trim(email) AS email,
          false AS ads_consent, ${ecwidTime('updateTimestamp', 'updateDate')} AS updated_at
        FROM ${items}
        WHERE starts_with(${BUYER}, '${GUEST_PREFIX}')
          AND ${BUYER} NOT IN (SELECT customer_id FROM customers)`,
    },
    {
      table: 'events',
      relationSql: `SELECT 'ecwid:cart:' || cartId || ':' || CAST(i.productId AS VARCHAR) AS event_id,
          customer_id, 'add_to_cart' AS event_name, CAST(i.productId AS VARCHAR) AS product_id,
          occurred_at, 1 AS event_count, '${ECWID_EVENT_SOURCE}' AS source
        FROM (SELECT cartId, ${BUYER} AS customer_id, ${ecwidTime('createTimestamp', 'createDate')} AS occurred_at,
                     unnest(items) AS i FROM ${items})
        -- A cart of nobody (no customer, no email) cannot be retargeted: not loaded.
        WHERE customer_id IS NOT NULL AND i.productId IS NOT NULL`,
    },
  ],
};

/** In pull order: guests of orders exist before carts look for them; carts after orders. */
export const ECWID_OBJECTS: readonly EcwidObjectSpec[] = [customers, products, orders, carts];

/** A chunk file read with the object's columns. */
export function itemsRelation(spec: EcwidObjectSpec, file: string): string {
  const columns = Object.entries(spec.columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ');
  return `read_json(${sqlString(file)}, format = 'newline_delimited', columns = {${columns}})`;
}
