import { sqlIdent, sqlString } from '../../warehouse/values.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * Writes GA4 BigQuery export tables (events_YYYYMMDD) with DuckDB COPY, in the export's real nested schema:
 * event_params and user_properties as key/value structs, items with the item fields, device/geo/ecommerce
 * records. Newline-delimited JSON is written the way BigQuery exports it: INT64 values as strings.
 */

export interface ExportItem {
  id?: string;
  name?: string;
  category?: string;
  price?: number;
  quantity?: number;
}

export interface ExportEvent {
  /** Microseconds since the epoch, UTC. */
  micros: bigint | string;
  name: string;
  userId?: string;
  pseudoId?: string;
  sessionId?: number;
  /** Extra event parameters (strings, integers or doubles). */
  params?: Record<string, string | number>;
  items?: ExportItem[];
  transactionId?: string;
}

export function micros(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1000n;
}

const VALUE = 'STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE)';
const ITEM = `STRUCT(item_id VARCHAR, item_name VARCHAR, item_brand VARCHAR, item_variant VARCHAR,
  item_category VARCHAR, item_category2 VARCHAR, item_category3 VARCHAR, item_category4 VARCHAR,
  item_category5 VARCHAR, price_in_usd DOUBLE, price DOUBLE, quantity BIGINT, item_revenue_in_usd DOUBLE,
  item_revenue DOUBLE, coupon VARCHAR, affiliation VARCHAR, item_list_id VARCHAR, item_list_name VARCHAR,
  item_list_index VARCHAR)`;

/** The export's row type (a faithful subset: every field the loader reads, plus neighbours). */
const ROW = `STRUCT(
  event_date VARCHAR, event_timestamp BIGINT, event_name VARCHAR,
  event_params STRUCT(key VARCHAR, value ${VALUE})[],
  event_previous_timestamp BIGINT, event_value_in_usd DOUBLE, event_bundle_sequence_id BIGINT,
  event_server_timestamp_offset BIGINT, user_id VARCHAR, user_pseudo_id VARCHAR,
  user_properties STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE,
    double_value DOUBLE, set_timestamp_micros BIGINT))[],
  user_first_touch_timestamp BIGINT,
  device STRUCT(category VARCHAR, operating_system VARCHAR, web_info STRUCT(browser VARCHAR, hostname VARCHAR)),
  geo STRUCT(country VARCHAR, city VARCHAR),
  stream_id VARCHAR, platform VARCHAR,
  ecommerce STRUCT(total_item_quantity BIGINT, purchase_revenue_in_usd DOUBLE, purchase_revenue DOUBLE,
    transaction_id VARCHAR, unique_items BIGINT),
  items ${ITEM}[])`;

function param(key: string, v: string | number): unknown {
  const value = { string_value: null, int_value: null, float_value: null, double_value: null } as Record<
    string,
    unknown
  >;
  if (typeof v === 'string') value.string_value = v;
  else if (Number.isInteger(v)) value.int_value = v;
  else value.double_value = v;
  return { key, value };
}

function row(e: ExportEvent): unknown {
  const ts = BigInt(e.micros);
  const day = new Date(Number(ts / 1000n)).toISOString().slice(0, 10).replaceAll('-', '');
  const params = [
    param('page_location', `https://shop.example/${e.name}`),
    ...(e.sessionId !== undefined
      ? [param('ga_session_id', e.sessionId), param('ga_session_number', 1)]
      : []),
    ...Object.entries(e.params ?? {}).map(([k, v]) => param(k, v)),
  ];
  const items = (e.items ?? []).map((it, i) => ({
    item_id: it.id ?? null,
    item_name: it.name ?? `Item ${it.id}`,
    item_brand: 'Acme',
    item_variant: null,
    item_category: it.category ?? null,
    item_category2: null,
    item_category3: null,
    item_category4: null,
    item_category5: null,
    price_in_usd: it.price ?? 10,
    price: it.price ?? 10,
    quantity: it.quantity ?? 1,
    item_revenue_in_usd: null,
    item_revenue: null,
    coupon: null,
    affiliation: null,
    item_list_id: null,
    item_list_name: null,
    item_list_index: String(i + 1),
  }));
  return {
    event_date: day,
    event_timestamp: ts.toString(),
    event_name: e.name,
    event_params: params,
    event_previous_timestamp: null,
    event_value_in_usd: null,
    event_bundle_sequence_id: 1,
    event_server_timestamp_offset: null,
    user_id: e.userId ?? null,
    user_pseudo_id: e.pseudoId ?? null,
    user_properties: e.userId
      ? [
          {
            key: 'customer_id',
            value: {
              string_value: e.userId,
              int_value: null,
              float_value: null,
              double_value: null,
              set_timestamp_micros: ts.toString(),
            },
          },
        ]
      : [],
    user_first_touch_timestamp: ts.toString(),
    device: {
      category: 'desktop',
      operating_system: 'Linux',
      web_info: { browser: 'Firefox', hostname: 'shop' },
    },
    geo: { country: 'France', city: 'Lyon' },
    stream_id: '1234',
    platform: 'WEB',
    ecommerce: e.transactionId
      ? {
          total_item_quantity: items.length,
          purchase_revenue_in_usd: 10 * items.length,
          purchase_revenue: 10 * items.length,
          transaction_id: e.transactionId,
          unique_items: items.length,
        }
      : null,
    items,
  };
}

let n = 0;

/** Writes one export table file (format from the extension: .parquet, else newline-delimited JSON). */
export async function writeExportTable(wh: Warehouse, path: string, events: ExportEvent[]): Promise<void> {
  const tmp = `ga4_export_fixture_${++n}`;
  await wh.run(
    `CREATE TEMP TABLE ${sqlIdent(tmp)} AS
     SELECT r.* FROM (SELECT unnest(CAST(CAST($1 AS JSON) AS ${ROW}[])) AS r)`,
    [JSON.stringify(events.map(row))],
  );
  try {
    if (path.endsWith('.parquet')) {
      await wh.run(`COPY ${sqlIdent(tmp)} TO ${sqlString(path)} (FORMAT parquet)`);
    } else {
      // BigQuery's JSON export writes INT64 as strings.
      await wh.run(
        `COPY (SELECT * REPLACE (
            CAST(event_timestamp AS VARCHAR) AS event_timestamp,
            list_transform(event_params, p -> {'key': p.key, 'value': {'string_value': p.value.string_value,
              'int_value': CAST(p.value.int_value AS VARCHAR), 'float_value': p.value.float_value,
              'double_value': p.value.double_value}}) AS event_params)
          FROM ${sqlIdent(tmp)}) TO ${sqlString(path)} (FORMAT json)`,
      );
    }
  } finally {
    await wh.run(`DROP TABLE ${sqlIdent(tmp)}`);
  }
}
