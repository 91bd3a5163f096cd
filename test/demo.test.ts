import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_AS_OF,
  DEMO_GENERATOR_VERSION,
  type DemoManifest,
  ensureDemo,
  generateDemo,
} from '../pipelines/demo/generate.ts';
import { COMPLEMENTS } from '../pipelines/demo/reference.ts';
import { sqlString } from '../warehouse/values.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { tempDir } from './helpers/temp.ts';

const TABLES = ['customers', 'products', 'orders', 'order_items', 'events', 'product_complements'];
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const dir = tempDir('demo');
let manifest: DemoManifest;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS();
}
async function num(sql: string): Promise<number> {
  const first = (await rows(sql))[0];
  return Number(first ? Object.values(first)[0] : Number.NaN);
}

/**
 * Views over the generated files read with plain DuckDB (not the project's loader): the good rows typed,
 * the malformed ones dropped, and the contract's models (completed orders, purchases, resolved category).
 */
async function defineViews(): Promise<void> {
  const f = (name: string) => sqlString(join(dir, name));
  const T = `TIMESTAMP '${DEMO_AS_OF.toISOString().slice(0, 19).replace('T', ' ')}'`;
  const statements = [
    "SET TimeZone = 'UTC'",
    `CREATE MACRO T() AS ${T}`,
    `CREATE VIEW raw_customers AS SELECT * FROM read_csv(${f('customers.csv')}, header = true, all_varchar = true)`,
    `CREATE VIEW raw_orders AS SELECT * FROM read_csv(${f('orders.csv')}, header = true, all_varchar = true)`,
    `CREATE VIEW raw_items AS SELECT * FROM read_parquet(${f('order_items.parquet')})`,
    `CREATE VIEW raw_events AS SELECT * FROM read_json(${f('events/*.jsonl')}, columns = {
       event_id: 'VARCHAR', customer_id: 'VARCHAR', anonymous_id: 'VARCHAR', session_id: 'VARCHAR',
       event_name: 'VARCHAR', product_id: 'VARCHAR', category: 'VARCHAR', occurred_at: 'VARCHAR',
       event_count: 'INTEGER', source: 'VARCHAR'})`,
    `CREATE VIEW products AS SELECT * FROM read_csv(${f('products.csv')}, header = true, all_varchar = true)`,
    `CREATE VIEW declared AS SELECT * FROM read_csv(${f('product_complements.csv')}, header = true, all_varchar = true)`,
    `CREATE VIEW orders AS
     SELECT order_id, customer_id, try_cast(ordered_at AS TIMESTAMP) AS ordered_at,
            coalesce(nullif(status, ''), 'completed') AS status
     FROM raw_orders WHERE coalesce(order_id, '') <> '' AND try_cast(ordered_at AS TIMESTAMP) IS NOT NULL`,
    `CREATE VIEW completed_orders AS
     SELECT * FROM orders WHERE lower(status) NOT IN ('cancelled', 'refunded') AND ordered_at <= T()`,
    `CREATE VIEW purchases AS
     SELECT o.order_id, o.customer_id, o.ordered_at, i.product_id, p.category
     FROM completed_orders o JOIN raw_items i USING (order_id) LEFT JOIN products p USING (product_id)
     WHERE i.product_id IS NOT NULL`,
    `CREATE VIEW events AS
     SELECT e.customer_id, e.event_name, e.product_id, coalesce(nullif(e.category, ''), p.category) AS category,
            try_cast(e.occurred_at AS TIMESTAMP) AS occurred_at
     FROM raw_events e LEFT JOIN products p USING (product_id)
     WHERE try_cast(e.occurred_at AS TIMESTAMP) <= T() AND coalesce(e.event_name, '') <> ''`,
  ];
  for (const sql of statements) await conn.run(sql);
}

beforeAll(async () => {
  manifest = await generateDemo(dir);
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await defineViews();
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

describe('demo store files', () => {
  it('is byte-for-byte identical for the same seed, and different for another seed', async () => {
    // A second store, generated through ensureDemo into a directory that does not exist yet.
    const again = join(tempDir('demo'), 'nested', 'demo');
    expect((await ensureDemo(again)).generated).toBe(true);
    const files = listFiles(dir);
    expect(listFiles(again)).toEqual(files);
    for (const file of files) {
      expect(readFileSync(join(again, file)).equals(readFileSync(join(dir, file))), file).toBe(true);
    }
    // The seed matters: same size, another seed, other people.
    const [a, b] = [tempDir('demo'), tempDir('demo')];
    await generateDemo(a, { customers: 300 });
    await generateDemo(b, { customers: 300, seed: 7 });
    expect(readFileSync(join(a, 'customers.csv')).equals(readFileSync(join(b, 'customers.csv')))).toBe(false);
  });

  it('writes one file or folder per table in a mix of formats, listed in the manifest', () => {
    const files = listFiles(dir);
    expect(files).toContain('customers.csv');
    expect(files).toContain('products.csv');
    expect(files).toContain('orders.csv');
    expect(files).toContain('order_items.parquet');
    expect(files).toContain('product_complements.csv');
    const eventFiles = files.filter((f) => f.startsWith('events/'));
    expect(eventFiles.length).toBeGreaterThanOrEqual(35);
    for (const f of eventFiles) expect(f).toMatch(/^events\/\d{4}-\d{2}-\d{2}\.jsonl$/);
    expect(manifest.version).toBe(DEMO_GENERATOR_VERSION);
    expect(manifest.as_of).toBe(DEMO_AS_OF.toISOString());
    expect(Object.keys(manifest.files).sort()).toEqual([...TABLES].sort());
    expect([...Object.values(manifest.files).flat(), '_manifest.json'].sort()).toEqual(files);
  });

  it('has exactly the contract columns of sql/migrations (without event_key, load_seq and the customer version columns, optional in files)', async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    try {
      const sources: Record<string, string> = {
        customers: 'SELECT * FROM raw_customers',
        products: 'SELECT * FROM products',
        orders: 'SELECT * FROM raw_orders',
        order_items: 'SELECT * FROM raw_items',
        events: 'SELECT * FROM raw_events',
        product_complements: 'SELECT * FROM declared',
      };
      for (const table of TABLES) {
        const contract = await wh.all<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns
           WHERE table_name = $1 AND column_name NOT IN ('event_key', 'updated_at', 'exported_at', 'load_seq')
           ORDER BY ordinal_position`,
          [table],
        );
        const described = await rows(`DESCRIBE ${sources[table]}`);
        expect(
          described.map((r) => r.column_name),
          table,
        ).toEqual(contract.map((r) => r.column_name));
      }
      // Every JSON line names every column (readers infer the schema from the keys).
      const firstLine = readFileSync(join(dir, manifest.files.events![0]!), 'utf8').split('\n')[0]!;
      expect(Object.keys(JSON.parse(firstLine))).toHaveLength(10);
    } finally {
      wh.close();
    }
  });

  it('counts rows in the manifest and carries a handful of malformed rows, far below 5%', async () => {
    expect(manifest.counts.customers).toBe(await num('SELECT count(*) FROM raw_customers'));
    expect(manifest.counts.orders).toBe(await num('SELECT count(*) FROM raw_orders'));
    expect(manifest.counts.order_items).toBe(await num('SELECT count(*) FROM raw_items'));
    expect(manifest.counts.events).toBe(await num('SELECT count(*) FROM raw_events'));
    const bad = {
      customers: await num("SELECT count(*) FROM raw_customers WHERE coalesce(customer_id, '') = ''"),
      orders: await num(`SELECT count(*) FROM raw_orders
        WHERE coalesce(order_id, '') = '' OR try_cast(ordered_at AS TIMESTAMP) IS NULL`),
      order_items: await num('SELECT count(*) FROM raw_items WHERE product_id IS NULL OR order_id IS NULL'),
      events: await num(`SELECT count(*) FROM raw_events
        WHERE coalesce(event_name, '') = '' OR try_cast(occurred_at AS TIMESTAMP) IS NULL`),
    };
    expect(bad).toEqual(manifest.malformed);
    for (const [table, n] of Object.entries(bad)) {
      expect(n).toBeGreaterThan(0);
      expect(n / (manifest.counts[table] ?? 1)).toBeLessThan(0.01);
    }
  });
});

describe('demo store realism', () => {
  it('has a few thousand customers with messy, realistic contact fields and ~85% consent', async () => {
    expect(manifest.counts.customers).toBeGreaterThanOrEqual(3000);
    const c = (
      await rows(`SELECT
        avg(CASE WHEN ads_consent = 'true' THEN 1 ELSE 0 END) AS consent,
        count(*) FILTER (WHERE phone LIKE '+%') AS intl_phones,
        count(*) FILTER (WHERE phone LIKE '(%') AS national_phones,
        count(*) FILTER (WHERE zip SIMILAR TO '[0-9]{5}-[0-9]{4}') AS zip4,
        count(*) FILTER (WHERE country = 'US') AS iso_us,
        count(*) FILTER (WHERE length(country) > 2) AS country_names,
        count(*) FILTER (WHERE first_name <> strip_accents(first_name) OR last_name <> strip_accents(last_name)) AS accents,
        count(DISTINCT state) AS states,
        count(*) FILTER (WHERE email IS NOT NULL AND lower(email) NOT SIMILAR TO '.*@(.*\\.)?(example\\.(com|net|org)|shop\\.example) ?') AS real_domains,
        count(DISTINCT lower(trim(email))) = count(email) AS unique_emails
      FROM raw_customers WHERE customer_id <> ''`)
    )[0]!;
    expect(Number(c.consent)).toBeGreaterThan(0.8);
    expect(Number(c.consent)).toBeLessThan(0.9);
    for (const key of ['intl_phones', 'national_phones', 'zip4', 'iso_us', 'country_names', 'accents']) {
      expect(Number(c[key]), key).toBeGreaterThan(0);
    }
    expect(Number(c.states)).toBeGreaterThan(20);
    expect(Number(c.real_domains)).toBe(0);
    expect(c.unique_emails).toBe(true);
  });

  it('has ~400 products in ~20 categories, two years of orders before T with 1-5 line baskets', async () => {
    expect(await num('SELECT count(*) FROM products')).toBe(400);
    expect(await num('SELECT count(DISTINCT category) FROM products')).toBe(20);
    const o = (
      await rows(`SELECT min(ordered_at) AS first_at, max(ordered_at) AS last_at,
        count(*) FILTER (WHERE status = 'cancelled') AS cancelled, count(*) FILTER (WHERE status = 'refunded') AS refunded,
        avg(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed_share FROM orders`)
    )[0]!;
    expect((o.first_at as Date).getTime()).toBeGreaterThan(DEMO_AS_OF.getTime() - 731 * 86_400_000);
    expect((o.first_at as Date).getTime()).toBeLessThan(DEMO_AS_OF.getTime() - 700 * 86_400_000);
    expect((o.last_at as Date).getTime()).toBeLessThan(DEMO_AS_OF.getTime());
    expect(Number(o.cancelled)).toBeGreaterThan(0);
    expect(Number(o.refunded)).toBeGreaterThan(0);
    expect(Number(o.completed_share)).toBeGreaterThan(0.85);
    const sizes = await rows(`SELECT n, count(*) AS orders FROM (SELECT order_id, count(*) AS n FROM raw_items
      WHERE product_id IS NOT NULL GROUP BY ALL) GROUP BY ALL ORDER BY n`);
    expect(sizes.map((r) => Number(r.n))).toEqual([1, 2, 3, 4, 5]);
    // Repeat buyers and one-off buyers both exist.
    expect(
      await num(
        'SELECT count(*) FROM (SELECT customer_id FROM completed_orders GROUP BY ALL HAVING count(*) >= 3)',
      ),
    ).toBeGreaterThan(300);
    // Every order's total is the sum of its lines.
    expect(
      await num(`SELECT count(*) FROM raw_orders o JOIN (SELECT order_id, sum(quantity * unit_price) AS s
      FROM raw_items WHERE product_id IS NOT NULL GROUP BY ALL) i USING (order_id) WHERE o.total::DECIMAL(12, 2) <> i.s::DECIMAL(12, 2)`),
    ).toBe(0);
  });

  it('has recent browsing with every funnel event, anonymous sessions, UTC timestamps and blank categories', async () => {
    const names = (await rows('SELECT DISTINCT event_name FROM events ORDER BY 1')).map((r) => r.event_name);
    expect(names).toEqual([
      'add_to_cart',
      'add_to_wishlist',
      'begin_checkout',
      'purchase',
      'view_item',
      'view_item_list',
    ]);
    const e = (
      await rows(`SELECT
        count(*) FILTER (WHERE customer_id IS NULL AND anonymous_id IS NOT NULL) AS anonymous,
        count(*) FILTER (WHERE occurred_at NOT SIMILAR TO '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z') AS not_iso_z,
        count(*) FILTER (WHERE category = '' AND product_id IS NOT NULL) AS blank_category,
        min(try_cast(occurred_at AS TIMESTAMP)) AS first_at, max(try_cast(occurred_at AS TIMESTAMP)) AS last_at
      FROM raw_events WHERE event_id NOT LIKE 'bad-%'`)
    )[0]!;
    expect(Number(e.anonymous)).toBeGreaterThan(1000);
    expect(Number(e.not_iso_z)).toBe(0);
    expect(Number(e.blank_category)).toBeGreaterThan(1000);
    expect((e.first_at as Date).getTime()).toBeGreaterThan(DEMO_AS_OF.getTime() - 36 * 86_400_000);
    expect((e.last_at as Date).getTime()).toBeLessThan(DEMO_AS_OF.getTime());
    // Popular-product skew: the top 10% of products get far more than 10% of product views.
    const top =
      await num(`WITH v AS (SELECT product_id, count(*) AS n FROM events WHERE event_name = 'view_item' GROUP BY ALL)
      SELECT sum(n) FILTER (WHERE r <= 40) / sum(n) FROM (SELECT *, row_number() OVER (ORDER BY n DESC) AS r FROM v)`);
    expect(top).toBeGreaterThan(0.25);
  });
});

/** Each shipped segment's rule, in plain SQL against the files, evaluated as of DEMO_AS_OF. */
describe('every shipped segment has members as of DEMO_AS_OF', () => {
  it('wishlisted: add_to_wishlist of p in the last 30 days, p not bought at or after it', async () => {
    const rule = (bought: 'EXISTS' | 'NOT EXISTS') => `SELECT count(DISTINCT e.customer_id) FROM events e
      WHERE e.event_name = 'add_to_wishlist' AND e.customer_id IS NOT NULL AND e.occurred_at > T() - INTERVAL 30 DAY
        AND ${bought} (SELECT 1 FROM purchases p WHERE p.customer_id = e.customer_id AND p.product_id = e.product_id
                        AND p.ordered_at >= e.occurred_at)`;
    expect(await num(rule('NOT EXISTS'))).toBeGreaterThan(50);
    // Some wishlists were followed by buying the product: the exclusion has something to exclude.
    expect(await num(rule('EXISTS'))).toBeGreaterThan(5);
  });

  it('category_browsers: >= 3 view_item in a category in 14 days, no purchase there in 14 days', async () => {
    const categories = await num(`SELECT count(DISTINCT category) FROM (
        SELECT customer_id, category FROM events
        WHERE event_name = 'view_item' AND customer_id IS NOT NULL AND occurred_at > T() - INTERVAL 14 DAY
        GROUP BY ALL HAVING count(*) >= 3) b
      WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = b.customer_id AND p.category = b.category
                          AND p.ordered_at > T() - INTERVAL 14 DAY)`);
    expect(categories).toBe(20);
  });

  it('passive_past_buyers: last completed order 180 to 1095 days ago', async () => {
    expect(
      await num(`SELECT count(*) FROM (SELECT customer_id, max(ordered_at) AS last_at FROM completed_orders GROUP BY ALL)
        WHERE last_at <= T() - INTERVAL 180 DAY AND last_at > T() - INTERVAL 1095 DAY`),
    ).toBeGreaterThan(300);
  });

  it('complementary_products: bought A in 90 days, a declared or mined complement B never bought', async () => {
    await conn.run(`CREATE OR REPLACE TABLE mined AS
      WITH baskets AS (SELECT DISTINCT order_id, product_id FROM purchases),
      n AS (SELECT count(DISTINCT order_id)::DOUBLE AS n FROM completed_orders),
      single AS (SELECT product_id, count(*) AS c FROM baskets GROUP BY ALL),
      pairs AS (SELECT a.product_id AS a, b.product_id AS b, count(*) AS c FROM baskets a
                JOIN baskets b ON a.order_id = b.order_id AND a.product_id <> b.product_id GROUP BY ALL)
      SELECT a, b, pairs.c AS support, pairs.c * n.n / (sa.c * sb.c) AS lift
      FROM pairs, n, single sa, single sb
      WHERE sa.product_id = a AND sb.product_id = b AND pairs.c >= 5 AND pairs.c * n.n / (sa.c * sb.c) >= 2.0`);
    const mined = (
      await rows(`SELECT count(*) AS pairs,
        count(*) FILTER (WHERE (a, b) NOT IN (SELECT (product_id, complement_id) FROM declared)) AS undeclared
      FROM mined`)
    )[0]!;
    expect(Number(mined.pairs)).toBeGreaterThan(20);
    expect(Number(mined.undeclared)).toBeGreaterThan(10);
    // The catalogue's complement structure shows in the baskets: every related category pair is mined,
    // including the ones the merchant never declared (beyond chance pairs between popular products).
    const minedCategories = new Set(
      (
        await rows(`SELECT DISTINCT pa.category || ' > ' || pb.category AS pair FROM mined
          JOIN products pa ON pa.product_id = a JOIN products pb ON pb.product_id = b`)
      ).map((r) => String(r.pair)),
    );
    for (const [category, complement] of COMPLEMENTS) {
      expect(minedCategories.has(`${category} > ${complement}`), `${category} > ${complement}`).toBe(true);
    }
    const members = (
      via: string,
    ) => `SELECT count(DISTINCT p.customer_id) FROM purchases p JOIN (${via}) c ON c.a = p.product_id
      WHERE p.ordered_at > T() - INTERVAL 90 DAY
        AND NOT EXISTS (SELECT 1 FROM purchases q WHERE q.customer_id = p.customer_id AND q.product_id = c.b)`;
    expect(await num(members('SELECT product_id AS a, complement_id AS b FROM declared'))).toBeGreaterThan(
      20,
    );
    expect(
      await num(
        members(
          'SELECT a, b FROM mined WHERE (a, b) NOT IN (SELECT (product_id, complement_id) FROM declared)',
        ),
      ),
    ).toBeGreaterThan(20);
  });

  it('cart_abandoners: add_to_cart of p in 7 days with no purchase of p at or after it', async () => {
    expect(
      await num(`SELECT count(DISTINCT e.customer_id) FROM events e
        WHERE e.event_name = 'add_to_cart' AND e.customer_id IS NOT NULL AND e.occurred_at > T() - INTERVAL 7 DAY
          AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = e.customer_id AND p.product_id = e.product_id
                            AND p.ordered_at >= e.occurred_at)`),
    ).toBeGreaterThan(30);
  });

  it('one_time_buyers: exactly one completed order ever, placed in the last 90 days', async () => {
    expect(
      await num(`SELECT count(*) FROM (SELECT customer_id, count(*) AS n, max(ordered_at) AS last_at
        FROM completed_orders GROUP BY ALL) WHERE n = 1 AND last_at > T() - INTERVAL 90 DAY`),
    ).toBeGreaterThan(50);
  });
});

describe('ensureDemo', () => {
  it('generates once, then leaves the files alone until the generator version changes', async () => {
    // An existing demo of this version (here a copy of the one generated above) is left alone.
    const target = join(tempDir('demo'), 'copy');
    cpSync(dir, target, { recursive: true });
    const mtime = statSync(join(target, 'customers.csv')).mtimeMs;
    const second = await ensureDemo(target);
    expect(second.generated).toBe(false);
    expect(second.manifest).toEqual(manifest);
    expect(statSync(join(target, 'customers.csv')).mtimeMs).toBe(mtime);

    // An older generator's demo (manifest under its old name, a stale file) is replaced, stale file included.
    rmSync(join(target, '_manifest.json'));
    writeFileSync(join(target, 'manifest.json'), JSON.stringify({ ...manifest, version: 0 }));
    writeFileSync(join(target, 'orders.jsonl'), '{"order_id":"stale"}\n');
    const third = await ensureDemo(target);
    expect(third.generated).toBe(true);
    expect(listFiles(target)).not.toContain('orders.jsonl');
    expect(listFiles(target)).not.toContain('manifest.json');
    expect(JSON.parse(readFileSync(join(target, '_manifest.json'), 'utf8')).version).toBe(
      DEMO_GENERATOR_VERSION,
    );
  });

  it('refuses to overwrite a directory of real data files', async () => {
    const target = tempDir('demo');
    writeFileSync(join(target, 'customers.csv'), 'customer_id\nreal-1\n');
    await expect(generateDemo(target)).rejects.toThrow(/customers\.csv.*refusing to overwrite/);
    expect(readFileSync(join(target, 'customers.csv'), 'utf8')).toBe('customer_id\nreal-1\n');
  });
});
