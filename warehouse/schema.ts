import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables in sql/migrations. Keep in step with the DDL. */
export interface Database {
  customers: {
    customer_id: string;
    email: string | null;
    phone: string | null;
    first_name: string | null;
    last_name: string | null;
    city: string | null;
    state: string | null;
    zip: string | null;
    country: string | null;
    created_at: Date | null;
    ads_consent: boolean;
    updated_at: Date | null;
    exported_at: Date | null;
  };
  customer_versions: { customer_id: string; fingerprint: string; first_seen_at: Date | null };
  /** Phone numbers parsed to E.164 (0011), keyed by the raw number and the country it was read in. */
  phone_numbers: { phone: string; country: string; e164: string | null; parser: string; parsed_at: Date };
  products: {
    product_id: string;
    name: string | null;
    category: string | null;
    brand: string | null;
    price: number | null;
    currency: string | null;
  };
  orders: {
    order_id: string;
    customer_id: string | null;
    ordered_at: Date;
    status: string;
    total: number | null;
    currency: string | null;
  };
  order_items: { order_id: string; product_id: string; quantity: number; unit_price: number | null };
  events: EventRow & { event_key: string | null };
  events_resolved: EventRow;
  product_complements: { product_id: string; complement_id: string };
  completed_orders: Database['orders'];
  purchases: {
    order_id: string;
    customer_id: string | null;
    ordered_at: Date;
    product_id: string;
    category: string | null;
    quantity: number;
    unit_price: number | null;
  };
  rejected_rows: {
    table_name: string;
    reason: string;
    raw: string | null;
    run_id: string | null;
    source: string | null;
    rejected_at: ColumnType<Date, Date | undefined, never>;
  };
  pipeline_runs: {
    run_id: string;
    started_at: Date;
    finished_at: Date | null;
    status: string;
    as_of: Date;
    trigger: string | null;
    error: string | null;
  };
  pipeline_steps: {
    run_id: string;
    step: string;
    started_at: Date;
    finished_at: Date | null;
    status: string;
    rows_in: bigint | null;
    rows_out: bigint | null;
    detail: string | null;
  };
  audience_members: {
    audience: string;
    segment: string;
    customer_id: string;
    entered_at: Date;
    attributes: string | null;
    /** 'exposed' or 'holdout' (0027): held-out members are never sent. */
    side: Generated<string>;
  };
  audience_membership_history: {
    audience: string;
    customer_id: string;
    entered_at: Date;
    exited_at: Date | null;
    entered_run_id: string | null;
    exited_run_id: string | null;
    side: Generated<string>;
  };
  audience_snapshots: {
    run_id: string;
    as_of: Date;
    audience: string;
    segment: string;
    members: bigint;
    entered: bigint;
    exited: bigint;
  };
  /** Audiences whose audience_members rows come from a dry run (0009). */
  audience_dry_runs: { audience: string; run_id: string; as_of: Date };
  destination_members: {
    destination: string;
    audience: string;
    customer_id: string;
    fingerprint: string;
    payload: string | null;
    synced_at: Date;
  };
  destination_audiences: {
    destination: string;
    audience: string;
    external_id: string | null;
    created_at: Date;
    last_synced_at: Date | null;
    last_synced_size: bigint | null;
    status: Generated<string>;
  };
  destination_syncs: {
    run_id: string;
    destination: string;
    audience: string;
    started_at: Date;
    finished_at: Date | null;
    adds: bigint;
    removes: bigint;
    invalid_entries: bigint;
    status: string;
    error: string | null;
  };
}

export interface EventRow {
  event_id: string | null;
  customer_id: string | null;
  anonymous_id: string | null;
  session_id: string | null;
  event_name: string;
  product_id: string | null;
  category: string | null;
  occurred_at: Date;
  event_count: number;
  source: string | null;
}
