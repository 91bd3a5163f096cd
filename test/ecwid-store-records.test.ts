import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adoptRegisteredGuests,
  buyerKeySql,
  deleteStoreRecords,
  guestConsentSql,
  guestKeySql,
} from '../connectors/sources/store-records.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

/** The rules both store sources share (connectors/sources/store-records.ts), on a real in-memory warehouse. */
let wh: Warehouse;
beforeEach(async () => {
  wh = await Warehouse.open({ path: ':memory:' });
});
afterEach(() => wh.close());

const ids = async (sql: string) => (await wh.all<{ id: string }>(sql)).map((r) => r.id);

describe('guest keys', () => {
  it('key a buyer by platform id, else by trimmed lower-cased email, else nothing', async () => {
    const row = await wh.one<Record<string, string | null>>(
      `SELECT ${guestKeySql("'  Ann@Example.COM '")} AS g, ${guestKeySql("'  '")} AS blank,
              ${guestKeySql('NULL')} AS none, ${buyerKeySql('42', "'x@y.z'")} AS registered,
              ${buyerKeySql("' '", "'X@Y.z'")} AS guest`,
    );
    expect(row).toEqual({
      g: 'guest:ann@example.com',
      blank: null,
      none: null,
      registered: '42',
      guest: 'guest:x@y.z',
    });
  });

  it('give a guest consent only for an explicit true', async () => {
    const row = await wh.one<Record<string, boolean>>(
      `SELECT ${guestConsentSql('true')} AS t, ${guestConsentSql('false')} AS f, ${guestConsentSql('NULL')} AS n,
              ${guestConsentSql("'maybe'")} AS junk`,
    );
    expect(row).toEqual({ t: true, f: false, n: false, junk: false });
  });
});

describe('adoptRegisteredGuests', () => {
  beforeEach(async () => {
    await wh.run(`INSERT INTO customers (customer_id, email, ads_consent) VALUES
      ('guest:ann@example.com', 'ann@example.com', true),
      ('guest:bob@example.com', 'bob@example.com', false),
      ('77', ' ANN@example.com ', false)`);
    await wh.run(
      `INSERT INTO customer_versions VALUES ('guest:ann@example.com', 'f1', NULL), ('77', 'f2', NULL)`,
    );
    await wh.run(`INSERT INTO orders (order_id, customer_id, ordered_at) VALUES
      ('o1', 'guest:ann@example.com', '2026-01-01'), ('o2', 'guest:bob@example.com', '2026-01-02'),
      ('o3', '77', '2026-01-03')`);
    await wh.run(`INSERT INTO events (customer_id, event_name, occurred_at, event_key) VALUES
      ('guest:ann@example.com', 'add_to_cart', '2026-01-01', 'k1')`);
  });

  it('re-key a guest who registered to the registered customer, once', async () => {
    expect(await adoptRegisteredGuests(wh)).toEqual({ guests: 1, orders: 1, events: 1, customers: 1 });
    expect(await ids('SELECT customer_id AS id FROM customers ORDER BY 1')).toEqual([
      '77',
      'guest:bob@example.com',
    ]);
    expect(
      await ids("SELECT customer_id AS id FROM orders WHERE order_id IN ('o1', 'o3') ORDER BY 1"),
    ).toEqual(['77', '77']);
    expect(await ids('SELECT customer_id AS id FROM events')).toEqual(['77']);
    expect(await ids('SELECT customer_id AS id FROM customer_versions')).toEqual(['77']);
    // The registered customer's consent governs: the guest's consent did not come along.
    expect(await wh.scalar("SELECT count(*) FROM customers WHERE customer_id = '77' AND ads_consent")).toBe(
      0,
    );
    expect(await adoptRegisteredGuests(wh)).toEqual({ guests: 0, orders: 0, events: 0, customers: 0 });
  });

  it('adopt guest orders even when the guest has no customers row', async () => {
    await wh.run("DELETE FROM customers WHERE customer_id = 'guest:ann@example.com'");
    expect(await adoptRegisteredGuests(wh)).toMatchObject({ guests: 1, orders: 1, customers: 0 });
    expect(await ids("SELECT customer_id AS id FROM orders WHERE order_id = 'o1'")).toEqual(['77']);
  });
});

describe('deleteStoreRecords', () => {
  it('remove deleted orders with their lines and deleted customers with their versions', async () => {
    await wh.run(`INSERT INTO orders (order_id, customer_id, ordered_at) VALUES
      ('1', 'c1', '2026-01-01'), ('2', 'c1', '2026-01-02')`);
    await wh.run(
      "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ('1', 'p', 1, 1), ('1', 'q', 1, 1), ('2', 'p', 1, 1)",
    );
    await wh.run("INSERT INTO customers (customer_id) VALUES ('c1'), ('c2')");
    await wh.run("INSERT INTO customer_versions VALUES ('c1', 'f', NULL), ('c2', 'f', NULL)");
    expect(await deleteStoreRecords(wh, 'orders', ['1', 'nope'])).toEqual({
      table: 'orders',
      deleted: 1,
      dependents: 2,
    });
    expect(await ids('SELECT order_id AS id FROM order_items')).toEqual(['2']);
    await wh.run("CREATE TEMP TABLE gone AS SELECT 'c2' AS x");
    expect(await deleteStoreRecords(wh, 'customers', { sql: 'SELECT x FROM gone' })).toEqual({
      table: 'customers',
      deleted: 1,
      dependents: 1,
    });
    expect(await ids('SELECT customer_id AS id FROM customers')).toEqual(['c1']);
    expect(await ids('SELECT customer_id AS id FROM customer_versions')).toEqual(['c1']);
    expect(await deleteStoreRecords(wh, 'products', [])).toEqual({
      table: 'products',
      deleted: 0,
      dependents: 0,
    });
  });
});
