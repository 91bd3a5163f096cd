import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';
import { storedCompression } from './helpers/compression.ts';
import { openOlderDatabase } from './older-database.ts';

/**
 * The ids of people and orders are stored FSST without DuckDB's dictionary trial (migration 0049, issue 13); product
 * ids, names and statuses keep DuckDB's choice. Each case writes 5,000 rows of three distinct values, where DuckDB's
 * own choice is a dictionary for every column, so only a column whose compression is fixed ends FSST.
 */

let scratch: ExportDir;

beforeEach(async () => {
  scratch = await openExportDir('retarget-id-compression-');
});
afterEach(() => closeExportDir(scratch));

describe('the stored id compression', () => {
  it('events: customer and anonymous ids FSST; products, names and categories keep the dictionary', async () => {
    const { wh } = scratch;
    await wh.run(
      `INSERT INTO events (event_id, customer_id, anonymous_id, event_name, product_id, category, occurred_at)
       SELECT 'e' || i, 'c' || (i % 3), 'a' || (i % 3), 'view_item', 'p' || (i % 3), 'k' || (i % 3),
              TIMESTAMP '2026-11-01' FROM range(5000) t(i)`,
    );
    expect(await storedCompression(wh, 'events')).toMatchObject({
      customer_id: 'FSST',
      anonymous_id: 'FSST',
      event_name: 'Dictionary',
      product_id: 'Dictionary',
      category: 'Dictionary',
    });
  });

  it('orders and order lines: order and customer ids FSST; products and statuses keep the dictionary', async () => {
    const { wh } = scratch;
    await wh.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at, status, currency)
       SELECT 'o' || (i % 3), 'c' || (i % 3), TIMESTAMP '2026-11-01', 'completed', 'EUR' FROM range(5000) t(i)`,
    );
    await wh.run(
      `INSERT INTO order_items (order_id, product_id) SELECT 'o' || (i % 3), 'p' || (i % 3) FROM range(5000) t(i)`,
    );
    expect(await storedCompression(wh, 'orders')).toEqual({
      order_id: 'FSST',
      customer_id: 'FSST',
      status: 'Dictionary',
      currency: 'Dictionary',
    });
    expect(await storedCompression(wh, 'order_items')).toEqual({
      order_id: 'FSST',
      product_id: 'Dictionary',
    });
  });

  it('customers: customer id, email and phone FSST, and their versions; names and places keep the dictionary', async () => {
    const { wh } = scratch;
    await wh.run(
      `INSERT INTO customers (customer_id, email, phone, first_name, city)
       SELECT 'c' || (i % 3), 'm' || (i % 3) || '@example.com', '+4930' || (i % 3), 'Ann', 'Berlin'
       FROM range(5000) t(i)`,
    );
    expect(await storedCompression(wh, 'customers')).toMatchObject({
      customer_id: 'FSST',
      email: 'FSST',
      phone: 'FSST',
      first_name: 'Dictionary',
      city: 'Dictionary',
    });
    await wh.run(
      `INSERT INTO customer_versions (customer_id, fingerprint) SELECT 'c' || (i % 3), 'f' || (i % 3) FROM range(5000) t(i)`,
    );
    expect(await storedCompression(wh, 'customer_versions')).toEqual({
      customer_id: 'FSST',
      fingerprint: 'FSST',
    });
  });

  it('membership tables: customer ids and sync fingerprints FSST; audience names keep the dictionary', async () => {
    const { wh } = scratch;
    const members = `SELECT 'a' || (i % 3) AS audience, 'c' || (i % 3) AS customer_id FROM range(5000) t(i)`;
    await wh.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
       SELECT audience, 'a', customer_id, TIMESTAMP '2026-11-01', '{"n": 1}' FROM (${members})`,
    );
    await wh.run(
      `INSERT INTO audience_membership_history (audience, customer_id, entered_at, entered_run_id)
       SELECT audience, customer_id, TIMESTAMP '2026-11-01', 'r1' FROM (${members})`,
    );
    await wh.run(
      `INSERT INTO destination_members (destination, audience, customer_id, fingerprint, synced_at)
       SELECT 'csv', audience, customer_id, 'f' || customer_id, TIMESTAMP '2026-11-01' FROM (${members})`,
    );
    expect(await storedCompression(wh, 'audience_members')).toMatchObject({
      customer_id: 'FSST',
      audience: 'Dictionary',
      segment: 'Dictionary',
    });
    expect(await storedCompression(wh, 'audience_membership_history')).toMatchObject({
      customer_id: 'FSST',
      audience: 'Dictionary',
    });
    expect(await storedCompression(wh, 'destination_members')).toMatchObject({
      customer_id: 'FSST',
      fingerprint: 'FSST',
      audience: 'Dictionary',
    });
  });
});

describe('migration 0049 on tables an older retarget stored', () => {
  it('keeps every row and value, load numbers included, and the next load merges with them', async () => {
    const { path, instance, connection } = await openOlderDatabase(scratch.root, 49);
    await connection.run(
      `INSERT INTO customers (customer_id, email, phone, ads_consent, updated_at, exported_at)
       VALUES ('c1', 'a@example.com', '+493012345', true, TIMESTAMP '2026-10-01', TIMESTAMP '2026-10-02')`,
    );
    await connection.run(`INSERT INTO customer_versions VALUES ('c1', 'f1', TIMESTAMP '2026-10-01')`);
    await connection.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at, total, currency, load_seq)
       VALUES ('o1', 'c1', TIMESTAMP '2026-10-03', 12.5, 'EUR', 4)`,
    );
    await connection.run(
      `INSERT INTO order_items (order_id, product_id, quantity, unit_price, load_seq) VALUES ('o1', 'p1', 2, 6.25, 4)`,
    );
    await connection.run(
      `INSERT INTO events (event_id, customer_id, anonymous_id, session_id, event_name, product_id, occurred_at, source)
       VALUES ('e1', 'c1', 'a1', 's1', 'view_item', 'p1', TIMESTAMP '2026-10-03 10:00', 'files')`,
    );
    await connection.run(
      `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes, side)
       VALUES ('wishlisted', 'wishlisted', 'c1', TIMESTAMP '2026-10-04', '{"n": 2}', 'holdout')`,
    );
    await connection.run(
      `INSERT INTO audience_membership_history
       VALUES ('wishlisted', 'c1', TIMESTAMP '2026-10-04', NULL, 'r0', NULL, 'holdout')`,
    );
    await connection.run(
      `INSERT INTO destination_members VALUES ('csv', 'wishlisted', 'c1', 'f1', NULL, TIMESTAMP '2026-10-04')`,
    );
    // Compared over the columns the older database had: later migrations may add some (0051: export times).
    const columns = await connection.runAndReadAll(
      `SELECT table_name AS t, string_agg(column_name, ', ' ORDER BY ordinal_position) AS c
       FROM information_schema.columns GROUP BY 1`,
    );
    const tables = rowsAsText(new Map(columns.getRowObjectsJS().map((r) => [String(r.t), String(r.c)])));
    const before = await connection.runAndReadAll(tables);
    connection.closeSync();
    instance.closeSync();
    const wh = await Warehouse.open({ path });
    try {
      expect(JSON.stringify(await wh.all(tables))).toBe(JSON.stringify(before.getRowObjectsJson()));
      expect((await storedCompression(wh, 'events')).customer_id).toBe('FSST');
      writeExport(
        scratch.dir,
        'events/a.csv',
        'event_id,customer_id,event_name,product_id,occurred_at\n' +
          'e1,c1,view_item,p1,2026-10-03 10:00\ne2,c1,view_item,p2,2026-10-03 11:00\n',
      );
      await loadFilesSource(wh, { dir: scratch.dir, runId: 'r1' });
      expect(await wh.json('SELECT event_id, anonymous_id FROM events ORDER BY event_id')).toEqual([
        { event_id: 'e1', anonymous_id: 'a1' },
        { event_id: 'e2', anonymous_id: null },
      ]);
    } finally {
      wh.close();
    }
  });
});

/** The tables 0049 rebuilds. */
const REBUILT = [
  'customers',
  'customer_versions',
  'orders',
  'order_items',
  'events',
  'audience_members',
  'audience_membership_history',
  'destination_members',
];
/** Every row of the rebuilt tables, each as text, in a fixed order. */
/** Every row of the rebuilt tables as text, over the columns `columns` names per table. */
const rowsAsText = (columns: Map<string, string>) =>
  `${REBUILT.map((t) => `SELECT '${t}' AS t, CAST(r AS VARCHAR) AS v FROM (SELECT ${columns.get(t)} FROM ${t}) r`).join(' UNION ALL ')}
  ORDER BY 1, 2`;
