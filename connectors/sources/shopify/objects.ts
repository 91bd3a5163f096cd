import { buyerKeySql } from '../store-records.ts';

/**
 * What the Shopify source pulls, as data: each object's bulk query (root connection and the node's fields, child
 * connections nested one level) and the JSONL columns DuckDB reads from its result. The SQL that turns the lines
 * into warehouse rows lives in ./tables.ts.
 */

export type ShopifyObjectName = 'customers' | 'products' | 'orders' | 'checkouts';

export interface ShopifyObject {
  name: ShopifyObjectName;
  /** The root connection of the bulk query. */
  connection: string;
  /** The node's selection (child connections appear as separate JSONL lines with __parentId). */
  fields: string;
  /** read_json columns: every field of the root and child lines (a line lacks the other's: NULL). */
  columns: Record<string, string>;
}

const MONEY = 'STRUCT(shopMoney STRUCT(amount VARCHAR, currencyCode VARCHAR))';
const REF = 'STRUCT(id VARCHAR)';
const ADDRESS =
  'STRUCT(firstName VARCHAR, lastName VARCHAR, city VARCHAR, province VARCHAR, zip VARCHAR, countryCodeV2 VARCHAR)';

export const SHOPIFY_OBJECTS: Record<ShopifyObjectName, ShopifyObject> = {
  customers: {
    name: 'customers',
    connection: 'customers',
    fields: `id createdAt updatedAt firstName lastName
      defaultEmailAddress { emailAddress marketingState }
      defaultPhoneNumber { phoneNumber }
      emailMarketingConsent { marketingState }
      defaultAddress { city province zip countryCodeV2 }`,
    columns: {
      id: 'VARCHAR',
      __parentId: 'VARCHAR',
      createdAt: 'VARCHAR',
      updatedAt: 'VARCHAR',
      firstName: 'VARCHAR',
      lastName: 'VARCHAR',
      defaultEmailAddress: 'STRUCT(emailAddress VARCHAR, marketingState VARCHAR)',
      defaultPhoneNumber: 'STRUCT(phoneNumber VARCHAR)',
      emailMarketingConsent: 'STRUCT(marketingState VARCHAR)',
      defaultAddress: 'STRUCT(city VARCHAR, province VARCHAR, zip VARCHAR, countryCodeV2 VARCHAR)',
    },
  },
  products: {
    name: 'products',
    connection: 'products',
    fields: `id title productType updatedAt
      priceRangeV2 { minVariantPrice { amount currencyCode } }
      collections { edges { node { id title } } }`,
    columns: {
      id: 'VARCHAR',
      __parentId: 'VARCHAR',
      title: 'VARCHAR',
      productType: 'VARCHAR',
      updatedAt: 'VARCHAR',
      priceRangeV2: 'STRUCT(minVariantPrice STRUCT(amount VARCHAR, currencyCode VARCHAR))',
    },
  },
  orders: {
    name: 'orders',
    connection: 'orders',
    fields: `id email phone createdAt updatedAt cancelledAt displayFinancialStatus
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      billingAddress { firstName lastName city province zip countryCodeV2 }
      lineItems { edges { node { id quantity product { id } originalUnitPriceSet { shopMoney { amount currencyCode } } } } }`,
    columns: {
      id: 'VARCHAR',
      __parentId: 'VARCHAR',
      email: 'VARCHAR',
      phone: 'VARCHAR',
      createdAt: 'VARCHAR',
      updatedAt: 'VARCHAR',
      cancelledAt: 'VARCHAR',
      displayFinancialStatus: 'VARCHAR',
      customer: REF,
      totalPriceSet: MONEY,
      billingAddress: ADDRESS,
      quantity: 'BIGINT',
      product: REF,
      originalUnitPriceSet: MONEY,
    },
  },
  checkouts: {
    name: 'checkouts',
    connection: 'abandonedCheckouts',
    fields: `id createdAt updatedAt completedAt
      customer { id }
      lineItems { edges { node { id quantity product { id } } } }`,
    columns: {
      id: 'VARCHAR',
      __parentId: 'VARCHAR',
      createdAt: 'VARCHAR',
      updatedAt: 'VARCHAR',
      completedAt: 'VARCHAR',
      customer: REF,
      quantity: 'BIGINT',
      product: REF,
    },
  },
};

/** The objects whose deletions the id scan finds (products stay: past orders still name them). */
export const SCANNED: readonly ShopifyObjectName[] = ['customers', 'orders'];

/** A Shopify search value: single quotes, backslash-escaped. */
const quoted = (value: string) => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;

/** The bulk query of an object, changed since `since` (ISO) when given: `updated_at:>='…'` in Shopify's search syntax. */
export function bulkQuery(object: ShopifyObject, since: string | null): string {
  const filter = since ? `(query: ${JSON.stringify(`updated_at:>=${quoted(since)}`)})` : '';
  return `{ ${object.connection}${filter} { edges { node { ${object.fields.replace(/\s+/g, ' ')} } } } }`;
}

/** The cheap bulk query listing every id of an object (the deletion scan). */
export function idScanQuery(object: ShopifyObject): string {
  return `{ ${object.connection} { edges { node { id } } } }`;
}

/** SQL: the numeric tail of a gid (`gid://shopify/Customer/123` -> '123'), the id the store shows and exports. */
export function gidTail(expr: string): string {
  return `NULLIF(regexp_extract(${expr}, '([^/?]+)(\\?.*)?$', 1), '')`;
}

/** SQL: the warehouse customer of an order: the Shopify customer, else the guest key of the order's email. */
export function orderBuyerSql(customerGid: string, email: string): string {
  return buyerKeySql(gidTail(customerGid), email);
}
