/** How each raw table is validated and merged. The column lists mirror sql/migrations/0001_core.sql. */

/** The customers columns that identify a person (what destinations send, hashed or not). */
export const CONTACT_COLUMNS = [
  'email',
  'phone',
  'first_name',
  'last_name',
  'city',
  'state',
  'zip',
  'country',
] as const;
export type ContactColumn = (typeof CONTACT_COLUMNS)[number];

export type ColumnType = 'text' | 'timestamp' | 'decimal' | 'integer' | 'boolean';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** A source must have this column (a file without it is an error naming the file and column). */
  mustExist?: boolean;
  /** A row without a value is rejected. */
  required?: boolean;
  /** SQL used when the value is absent. */
  default?: string;
  /**
   * SQL used when a value is present but cannot be read: the row loads with it instead of being rejected, and is
   * reported (rejected_rows keeps it with the reason). For consent: what cannot be read is no consent.
   */
  unreadable?: string;
}

/** Boolean spellings accepted in text (trimmed, any letter case); anything else is unreadable. */
export const BOOLEAN_SPELLINGS = {
  true: ['true', 't', 'yes', 'y', '1', 'granted', 'opted_in', 'opted-in', 'opt_in', 'opt-in', 'subscribed'],
  false: [
    'false',
    'f',
    'no',
    'n',
    '0',
    'denied',
    'opted_out',
    'opted-out',
    'opt_out',
    'opt-out',
    'unsubscribed',
  ],
} as const;

export type MergeMode =
  /** Insert or replace by primary key; the newest row for a key wins (see merge.ts). */
  | 'upsert'
  /** Insert events whose key (event_id, else event_key) is new. */
  | 'events'
  /** Insert rows not already present. */
  | 'distinct';

export interface TableSpec {
  name: RawTable;
  columns: ColumnSpec[];
  key: string[];
  /** SQL naming a row's key when it is not simply the key columns. */
  keyExpression?: string;
  merge: MergeMode;
  /**
   * Keep each record's version (its updated_at, else its file's export time) and a fingerprint of every version
   * read, so that older data never overrides newer, above all consent (merge.ts). Customers only.
   */
  versioned?: boolean;
  /** Stamp each merged row with its load's number (`load_seq`, migration 0047), so readers can find what is new. */
  stampsLoad?: boolean;
}

export const RAW_TABLES = [
  'customers',
  'products',
  'orders',
  'order_items',
  'events',
  'product_complements',
] as const;
export type RawTable = (typeof RAW_TABLES)[number];

export const TABLE_SPECS: Record<RawTable, TableSpec> = {
  customers: {
    name: 'customers',
    key: ['customer_id'],
    merge: 'upsert',
    versioned: true,
    columns: [
      { name: 'customer_id', type: 'text', mustExist: true, required: true },
      { name: 'email', type: 'text' },
      { name: 'phone', type: 'text' },
      { name: 'first_name', type: 'text' },
      { name: 'last_name', type: 'text' },
      { name: 'city', type: 'text' },
      { name: 'state', type: 'text' },
      { name: 'zip', type: 'text' },
      { name: 'country', type: 'text' },
      { name: 'created_at', type: 'timestamp' },
      // No recorded or readable consent means no consent: never send someone who did not opt in.
      { name: 'ads_consent', type: 'boolean', default: 'false', unreadable: 'false' },
      // The record's own update time, when the export has one: orders versions before the file's export time.
      { name: 'updated_at', type: 'timestamp' },
    ],
  },
  products: {
    name: 'products',
    key: ['product_id'],
    merge: 'upsert',
    columns: [
      { name: 'product_id', type: 'text', mustExist: true, required: true },
      { name: 'name', type: 'text' },
      { name: 'category', type: 'text' },
      { name: 'brand', type: 'text' },
      { name: 'price', type: 'decimal' },
      { name: 'currency', type: 'text' },
    ],
  },
  orders: {
    name: 'orders',
    key: ['order_id'],
    merge: 'upsert',
    stampsLoad: true,
    columns: [
      { name: 'order_id', type: 'text', mustExist: true, required: true },
      { name: 'customer_id', type: 'text', mustExist: true },
      { name: 'ordered_at', type: 'timestamp', mustExist: true, required: true },
      { name: 'status', type: 'text', default: "'completed'" },
      { name: 'total', type: 'decimal' },
      { name: 'currency', type: 'text' },
    ],
  },
  order_items: {
    name: 'order_items',
    key: ['order_id', 'product_id'],
    merge: 'upsert',
    stampsLoad: true,
    columns: [
      { name: 'order_id', type: 'text', mustExist: true, required: true },
      { name: 'product_id', type: 'text', mustExist: true, required: true },
      { name: 'quantity', type: 'integer', default: '1' },
      { name: 'unit_price', type: 'decimal' },
    ],
  },
  events: {
    name: 'events',
    // An event is its event_id; one without has event_key, a hash of its fields (set only then: migration 0043).
    key: ['event_id', 'event_key'],
    keyExpression: 'COALESCE(event_id, event_key)',
    merge: 'events',
    columns: [
      { name: 'event_id', type: 'text' },
      { name: 'customer_id', type: 'text' },
      { name: 'anonymous_id', type: 'text' },
      { name: 'session_id', type: 'text' },
      { name: 'event_name', type: 'text', mustExist: true, required: true },
      { name: 'product_id', type: 'text' },
      { name: 'category', type: 'text' },
      { name: 'occurred_at', type: 'timestamp', mustExist: true, required: true },
      { name: 'event_count', type: 'integer', default: '1' },
      { name: 'source', type: 'text', default: "'files'" },
    ],
  },
  product_complements: {
    name: 'product_complements',
    key: ['product_id', 'complement_id'],
    merge: 'distinct',
    columns: [
      { name: 'product_id', type: 'text', mustExist: true, required: true },
      { name: 'complement_id', type: 'text', mustExist: true, required: true },
    ],
  },
};
