import { copyFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { forgetCustomer } from '../pipelines/ops/forget.ts';
import { ingestRelation } from '../warehouse/ingest.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';
import { cli, sandbox, withDb, writeStore } from './ops-helpers.ts';

/** Consent and erasure inside the load: the newest record wins, a "no" is never undone by older or unreadable data. */

let scratch: ExportDir;
let wh: Warehouse;
let dir: string;
let run = 0;

beforeEach(async () => {
  scratch = await openExportDir('retarget-consent-');
  ({ wh, dir } = scratch);
});
afterEach(() => closeExportDir(scratch));

const write = (name: string, text: string, modifiedAt?: Date) => writeExport(dir, name, text, modifiedAt);
const touch = (path: string) => {
  const later = new Date(Date.now() + 60_000 * ++run);
  utimesSync(path, later, later);
};
const load = () => loadFilesSource(wh, { dir, runId: `r${++run}` });
const consent = async () =>
  Object.fromEntries(
    (
      await wh.all<{ customer_id: string; ads_consent: boolean }>(
        'SELECT customer_id, ads_consent FROM customers ORDER BY 1',
      )
    ).map((r) => [r.customer_id, r.ads_consent]),
  );

describe('duplicate keys (issue 11 item 7)', () => {
  it('within a file the last row wins; across files the later export wins, whatever the names sort like', async () => {
    // 500 customers, each three times in one file: granted, granted, withdrawn (last).
    const rows = [1, 2, 3].flatMap((v) =>
      Array.from({ length: 500 }, (_, i) => `c${i},c${i}@example.com,${v < 3 ? 'yes' : 'no'}`),
    );
    write('customers.csv', `customer_id,email,ads_consent\n${rows.join('\n')}\n`);
    // An order repeated in one file: the last status counts.
    write(
      'orders.csv',
      'order_id,customer_id,ordered_at,status\no1,c1,2026-11-01,completed\no1,c1,2026-11-01,cancelled\n',
    );
    // Two exports of d1 in a folder: the name sorting last is the older export.
    write('products/a_2026-11-03.csv', 'product_id,name\np1,Newer name\n');
    write('products/b_2026-11-01.csv', 'product_id,name\np1,Older name\n');
    await load();
    expect(await wh.scalar('SELECT count(*) FROM customers WHERE ads_consent')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM customers')).toBe(500);
    expect(await wh.json('SELECT status FROM orders')).toEqual([{ status: 'cancelled' }]);
    expect(await wh.json('SELECT name FROM products')).toEqual([{ name: 'Newer name' }]);
  });
});

describe('an old file never resurrects consent (issue 14 item 1)', () => {
  it('a touched older export, or a copy of it, does not override the newer withdrawal', async () => {
    const old = write(
      'customers/customers_2026-11-01.csv',
      'customer_id,email,ads_consent\nk1,k1@example.com,true\n',
    );
    await load();
    write('customers/customers_2026-11-02.csv', 'customer_id,email,ads_consent\nk1,k1@example.com,false\n');
    await load();
    expect(await consent()).toEqual({ k1: false });

    touch(old); // re-read: its name still says 2026-11-01
    const reread = await load();
    expect(reread.tables.find((t) => t.table === 'customers')).toMatchObject({ files: 1, rowsRead: 1 });
    expect(await consent()).toEqual({ k1: false });

    // A copy without a date in its name looks new (modification time now): recognised as a version already seen.
    copyFileSync(old, join(dir, 'customers', 'restored.csv'));
    touch(join(dir, 'customers', 'restored.csv'));
    await load();
    expect(await consent()).toEqual({ k1: false });

    // A newer record grants consent again.
    write('customers/customers_2026-11-03.csv', 'customer_id,email,ads_consent\nk1,k1@example.com,true\n');
    await load();
    expect(await consent()).toEqual({ k1: true });
  });

  it("the record's own updated_at wins over the file's export time; a tie keeps the withdrawal", async () => {
    write(
      'customers/customers_2026-11-05.csv',
      'customer_id,ads_consent,updated_at\nk1,false,2026-11-04T10:00:00Z\nk2,false,2026-11-04T10:00:00Z\n',
    );
    await load();
    // Exported later, but k1's record is older; k2's record has the same update time and grants: a tie.
    write(
      'customers/customers_2026-11-06.csv',
      'customer_id,ads_consent,updated_at\nk1,true,2026-10-01T00:00:00Z\nk2,true,2026-11-04T10:00:00Z\n',
    );
    await load();
    expect(await consent()).toEqual({ k1: false, k2: false });
    expect(await wh.json("SELECT updated_at, exported_at FROM customers WHERE customer_id = 'k1'")).toEqual([
      { updated_at: '2026-11-04 10:00:00', exported_at: '2026-11-05 00:00:00' },
    ]);
    write('customers/late.csv', 'customer_id,ads_consent,updated_at\nk1,true,2026-11-07T00:00:00Z\n');
    await load();
    expect(await consent()).toEqual({ k1: true, k2: false });
  });
});

describe('unreadable consent fails closed (issue 14 item 3)', () => {
  it('loads the row without consent, overriding an earlier grant, and reports it without failing the load', async () => {
    write('customers/customers_2026-11-01.csv', 'customer_id,ads_consent\nw1,yes\nw2,Opted_In\nw3,1\n');
    await load();
    expect(await consent()).toEqual({ w1: true, w2: true, w3: true });
    // 2 of 3 rows unreadable: far above the 5% reject limit, yet the load goes through (nothing is rejected).
    write(
      'customers/customers_2026-11-02.csv',
      'customer_id,ads_consent\nw1,withdrawn\nw2, revoked \nw3,granted\n',
    );
    const report = await load();
    expect(report.tables.find((t) => t.table === 'customers')).toMatchObject({
      rowsRead: 3,
      rowsLoaded: 3,
      rowsRejected: 0,
      rowsFailedClosed: 2,
    });
    expect(await consent()).toEqual({ w1: false, w2: false, w3: true });
    expect(await wh.json('SELECT reason FROM rejected_rows ORDER BY reason')).toEqual([
      { reason: 'unreadable ads_consent, loaded as false: revoked' },
      { reason: 'unreadable ads_consent, loaded as false: withdrawn' },
    ]);
  });
});

describe('erasure inside the load (issue 14 item 4)', () => {
  it("a forgotten person's rows never land, even when a later table of the load fails", async () => {
    write('customers.csv', 'customer_id,email,ads_consent\nc1,c1@example.com,true\nc2,c2@example.com,true\n');
    write('orders.csv', 'order_id,customer_id,ordered_at\no1,c1,2026-11-01\no2,c2,2026-11-01\n');
    write('order_items.csv', 'order_id,product_id\no1,p1\no2,p1\n');
    await load();
    await forgetCustomer(wh, 'c1');
    await forgetCustomer(wh, 'C2@Example.com');

    // Old files come back (new modification times), c2 under a new id with the same email, and events that fail.
    for (const f of ['customers.csv', 'orders.csv', 'order_items.csv']) touch(join(dir, f));
    write(
      'customers_2026-11-02.csv',
      'customer_id,email,ads_consent\nc9,c2@example.com,true\nc3,c3@example.com,true\n',
    );
    write('orders_2026-11-02.csv', 'order_id,customer_id,ordered_at\no9,c9,2026-11-02\no3,c3,2026-11-02\n');
    write(
      'events.csv',
      'customer_id,event_name,occurred_at\nc1,view_item,2026-11-01\nc3,view_item,not a time\n',
    );
    await expect(load()).rejects.toThrow(/events/);

    expect(await wh.all('SELECT customer_id FROM customers ORDER BY 1')).toEqual([{ customer_id: 'c3' }]);
    expect(await wh.all('SELECT order_id FROM orders ORDER BY 1')).toEqual([{ order_id: 'o3' }]);
    expect(await wh.scalar('SELECT count(*) FROM order_items')).toBe(0);
    expect(await wh.scalar("SELECT count(*) FROM rejected_rows WHERE raw LIKE '%c1%'")).toBe(0);
    // c9 was found through the forgotten email: their id is remembered, so their other rows are dropped too.
    expect(
      await wh.scalar(
        "SELECT count(*) FROM forgotten_customers WHERE kind = 'customer_id' AND hash = sha256('c9')",
      ),
    ).toBe(1);
  });
});

describe('erasure inside every source (issue 14 item 4)', () => {
  it('drops a forgotten customer from a relation loaded the way GA4 loads its events', async () => {
    await forgetCustomer(wh, 'g1'); // before any of their data arrived: the request still holds
    const result = await ingestRelation(wh, {
      table: 'events',
      relationSql: `SELECT * FROM (VALUES ('g1', 'view_item', TIMESTAMP '2026-11-01'), ('g2', 'view_item', TIMESTAMP '2026-11-01'))
        t(customer_id, event_name, occurred_at)`,
      runId: 'r1',
      source: 'ga4_data_api',
    });
    expect(result).toMatchObject({ rowsRead: 1, rowsLoaded: 1, rowsForgotten: 1 });
    expect(await wh.all('SELECT customer_id FROM events')).toEqual([{ customer_id: 'g2' }]);
  });
});

describe('erasure inside the load, end to end (issue 14 item 4)', () => {
  it('`retarget run` failing on a bad events file after `forget` leaves the forgotten customer out', async () => {
    const s = sandbox();
    try {
      await writeStore(s.store, { customers: 5 });
      expect((await cli(['--config', s.config, 'run'])).code).toBe(0);
      const forget = await cli(['--config', s.config, 'forget', 'c3']);
      expect(forget.code, forget.stderr).toBe(0);
      // The old exports are read again, and this time the events are broken: the run fails in its load step.
      const later = new Date(Date.now() + 60_000);
      for (const f of ['customers.csv', 'orders.csv', 'order_items.csv'])
        utimesSync(join(s.store, f), later, later);
      writeFileSync(
        join(s.store, 'events.csv'),
        'customer_id,event_name,occurred_at\nc1,view_item,yesterday\n',
      );
      const failed = await cli(['--config', s.config, 'run']);
      expect(failed.code, failed.stdout).toBe(1);
      await withDb(s.db, async (w) => {
        expect(await w.scalar('SELECT count(*) FROM customers')).toBe(4);
        expect(await w.scalar("SELECT count(*) FROM customers WHERE customer_id = 'c3'")).toBe(0);
        expect(await w.scalar("SELECT count(*) FROM orders WHERE customer_id = 'c3'")).toBe(0);
        expect(await w.scalar("SELECT count(*) FROM order_items WHERE order_id = 'o3'")).toBe(0);
        // The customers file was loaded again (committed) while the events failed.
        expect(await w.scalar("SELECT count(*) FROM loaded_files WHERE path LIKE '%customers.csv'")).toBe(2);
      });
    } finally {
      s.cleanup();
    }
  });
});

describe('erasure of quarantined rows', () => {
  it('forget removes a rejected row of a person who is in no other table, matched by id', async () => {
    write('customers.csv', 'customer_id,created_at,ads_consent\nzz1,2026-01-01,true\nzz9,not a date,true\n');
    await loadFilesSource(wh, { dir, runId: 'r-q', maxRejectShare: 1 });
    const traces = () => wh.scalar(`SELECT count(*) FROM rejected_rows WHERE contains(raw, 'zz9')`);
    expect(await traces()).toBe(1);
    await forgetCustomer(wh, 'zz9');
    expect(await traces()).toBe(0);
  });
});
