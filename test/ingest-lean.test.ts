import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { forgetCustomer } from '../pipelines/ops/forget.ts';
import { ingestRelation } from '../warehouse/ingest.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';

/** The lean load (issue 13): fewer passes over a batch, a compact staged batch, the same exact results. */

let scratch: ExportDir;
let wh: Warehouse;
let dir: string;
let run = 0;

beforeEach(async () => {
  scratch = await openExportDir('retarget-ingest-lean-');
  ({ wh, dir } = scratch);
});
afterEach(() => closeExportDir(scratch));

const write = (name: string, text: string, modifiedAt?: Date) => writeExport(dir, name, text, modifiedAt);
const load = () => loadFilesSource(wh, { dir, runId: `r${++run}`, maxRejectShare: 1 });
const EVENTS = 'event_id,customer_id,event_name,product_id,occurred_at\n';

describe('events de-duplication without a key index', () => {
  it('a file loaded again under another name, and files with overlapping events, never duplicate a row', async () => {
    // Two rows without an event_id: their key is a hash of every field.
    const a = write(
      'events/a.csv',
      `${EVENTS}e1,c1,view_item,p1,2026-11-01 10:00:00\ne2,c1,view_item,p2,2026-11-01 10:01:00\n` +
        ',c2,add_to_cart,p1,2026-11-01 11:00:00\n,c2,add_to_cart,p2,2026-11-01 11:00:00\n',
    );
    // Overlaps a (e2 and one keyless row) in the same batch, and repeats e3 within itself.
    write(
      'events/b.csv',
      `${EVENTS}e2,c1,view_item,p2,2026-11-01 10:01:00\ne3,c3,purchase,p3,2026-11-01 12:00:00\n` +
        'e3,c3,purchase,p3,2026-11-01 12:00:00\n,c2,add_to_cart,p1,2026-11-01 11:00:00\n',
    );
    await load();
    const keys = () =>
      wh.json('SELECT COALESCE(event_id, event_key) AS k, count(*) AS n FROM events GROUP BY 1 HAVING n > 1');
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(5);
    expect(await keys()).toEqual([]);
    // The same file again under a new name (not skipped as already loaded), and a file overlapping stored rows.
    copyFileSync(a, join(dir, 'events/c.csv'));
    write(
      'events/d.csv',
      `${EVENTS}e3,c3,purchase,p3,2026-11-01 12:00:00\ne4,c4,view_item,p4,2026-11-01 13:00:00\n`,
    );
    await load();
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(6);
    expect(await keys()).toEqual([]);
  });
});

describe('repeated keys, checked once', () => {
  it('a key repeated across files but in none alone: the newest export wins, whichever file is read first or last', async () => {
    const header = 'order_id,customer_id,ordered_at,status\n';
    // The newest export is neither the first nor the last name.
    write('orders/a.csv', `${header}o1,c1,2026-11-01,completed\n`, new Date('2026-11-02'));
    write('orders/b.csv', `${header}o1,c1,2026-11-01,cancelled\n`, new Date('2026-11-03'));
    write('orders/c.csv', `${header}o1,c1,2026-11-01,refunded\n`, new Date('2026-11-01'));
    const items = 'order_id,product_id,quantity\n';
    write('order_items/a.csv', `${items}o1,p1,2\n`, new Date('2026-11-02'));
    write('order_items/b.csv', `${items}o1,p1,1\no1,p2,1\n`, new Date('2026-11-03'));
    write('order_items/c.csv', `${items}o1,p1,3\n`, new Date('2026-11-01'));
    await load();
    expect(await wh.json('SELECT order_id, status FROM orders')).toEqual([
      { order_id: 'o1', status: 'cancelled' },
    ]);
    expect(await wh.json('SELECT product_id, quantity FROM order_items ORDER BY 1')).toEqual([
      { product_id: 'p1', quantity: 1 },
      { product_id: 'p2', quantity: 1 },
    ]);
  });
});

describe('the staged batch keeps each row source compactly', () => {
  const at = { at: new Date('2026-11-01T00:00:00Z'), approximate: false };
  const ingest = (relationSql: string, sources: string[], beforeCommit?: () => Promise<void>) =>
    ingestRelation(wh, {
      table: 'products',
      relationSql,
      runId: 'lean',
      source: 'test',
      sources,
      exportedAt: new Map(sources.map((s) => [s, at])),
      maxRejectShare: 1,
      beforeCommit,
    });

  it('as an ENUM of the listed sources, in name order: at the same export time the later name still wins', async () => {
    let type = '';
    const result = await ingest(
      `SELECT * FROM (VALUES ('p1', 'From z', 'z.csv'), ('p1', 'From a', 'a.csv'), ('p2', NULL, 'a.csv'), (NULL, 'x', 'z.csv'))
       t(product_id, name, _source)`,
      // Listed out of order on purpose.
      ['z.csv', 'a.csv'],
      async () => {
        type = String(
          await wh
            .one<{ t: string }>(
              `SELECT data_type AS t FROM duckdb_columns() WHERE table_name LIKE 'stg_products_%' AND column_name = '_source'`,
            )
            .then((r) => r?.t),
        );
      },
    );
    expect(type).toMatch(/^ENUM\(/);
    expect(await wh.json('SELECT product_id, name FROM products ORDER BY 1')).toEqual([
      { product_id: 'p1', name: 'From z' },
      { product_id: 'p2', name: null },
    ]);
    // Counts per source and the quarantined row name their source as text.
    expect(result.bySource).toEqual([
      { source: 'a.csv', rowsRead: 2, rowsRejected: 0 },
      { source: 'z.csv', rowsRead: 2, rowsRejected: 1 },
    ]);
    expect(await wh.json('SELECT reason, source FROM rejected_rows')).toEqual([
      { reason: 'missing product_id', source: 'z.csv' },
    ]);
  });

  it('a source the caller did not list fails the load, naming it, and loads nothing', async () => {
    await expect(
      ingest(`SELECT * FROM (VALUES ('p1', 'x', 'unlisted.csv')) t(product_id, name, _source)`, ['a.csv']),
    ).rejects.toThrow(/unlisted\.csv/);
    expect(await wh.scalar('SELECT count(*) FROM products')).toBe(0);
  });

  it('files: rows read and rejected per file, and the quarantine names each file', async () => {
    const a = write('products/a.csv', 'product_id,name,price\np1,A,1\np2,B,notanumber\n');
    const b = write('products/b.csv', 'product_id,name,price\np3,C,2\n');
    await load();
    expect(
      await wh.json(
        'SELECT path, rows_read::INTEGER AS rows_read, rows_rejected::INTEGER AS rows_rejected FROM loaded_files ORDER BY 1',
      ),
    ).toEqual([
      { path: a, rows_read: 2, rows_rejected: 1 },
      { path: b, rows_read: 1, rows_rejected: 0 },
    ]);
    expect(await wh.json('SELECT source FROM rejected_rows')).toEqual([{ source: a }]);
  });
});

describe('events from Parquet', () => {
  const parquet = async (name: string, rows: string) => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    await wh.run(
      `COPY (SELECT * FROM (VALUES ${rows}) t(event_id, customer_id, event_name, product_id, occurred_at))
       TO '${path}' (FORMAT parquet)`,
    );
    return path;
  };
  const ev = (id: string | null, name: string | null = 'view_item') =>
    `(${id ? `'${id}'` : 'NULL'}, 'c1', ${name ? `'${name}'` : 'NULL'}, 'p1', TIMESTAMP '2026-11-01 10:00:00')`;
  /**
   * Loads, noting whether the events batch was staged (a stg_events_* table exists before it commits) or, on a first
   * load from Parquet, read through a view of the files.
   */
  const loadNoting = async () => {
    let staged: boolean | undefined;
    await loadFilesSource(wh, {
      dir,
      runId: `r${++run}`,
      beforeCommit: async (table) => {
        if (table === 'events')
          staged =
            (await wh.scalar(`SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'stg_events_%'`)) >
            0;
      },
    });
    return staged;
  };

  it('a clean batch loads de-duplicated exactly, and a reload adds nothing', async () => {
    // e2 in both files, e3 twice in one, and a keyless row in both (its key is a hash of its fields).
    const a = await parquet('events/a.parquet', [ev('e1'), ev('e2'), ev(null)].join(', '));
    await parquet('events/b.parquet', [ev('e2'), ev('e3'), ev('e3'), ev(null)].join(', '));
    expect(await loadNoting()).toBe(false);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(4);
    // Rows read per file, recorded with the files, as the staged path records them.
    expect(
      await wh.json(
        `SELECT regexp_extract(path, '[ab]\\.parquet') AS file, rows_read::INTEGER AS n FROM loaded_files ORDER BY 1`,
      ),
    ).toEqual([
      { file: 'a.parquet', n: 3 },
      { file: 'b.parquet', n: 4 },
    ]);
    copyFileSync(a, join(dir, 'events/c.parquet'));
    await parquet('events/d.parquet', [ev('e3'), ev('e4')].join(', '));
    expect(await loadNoting()).toBe(true);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(5);
    expect(
      await wh.json('SELECT COALESCE(event_id, event_key) FROM events GROUP BY 1 HAVING count(*) > 1'),
    ).toEqual([]);
  });

  it('a bad row is quarantined with its reason, on a first load read from the files and on a staged one', async () => {
    const rows = (from: number) => Array.from({ length: 40 }, (_, i) => ev(`e${from + i}`));
    await parquet('events/a.parquet', [...rows(0), ev('bad', null)].join(', '));
    expect(await loadNoting()).toBe(false);
    await parquet('events/b.parquet', [...rows(40), ev('bad2', null)].join(', '));
    expect(await loadNoting()).toBe(true);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(80);
    expect(
      await wh.json("SELECT table_name, reason, raw::JSON->>'event_id' AS id FROM rejected_rows ORDER BY id"),
    ).toEqual([
      { table_name: 'events', reason: 'missing event_name', id: 'bad' },
      { table_name: 'events', reason: 'missing event_name', id: 'bad2' },
    ]);
  });

  it('a first load with someone forgotten is staged, and drops their events', async () => {
    await forgetCustomer(wh, 'c1');
    const other = `('e2', 'c2', 'view_item', 'p1', TIMESTAMP '2026-11-01 10:00:00')`;
    await parquet('events/a.parquet', [ev('e1'), other].join(', '));
    expect(await loadNoting()).toBe(true);
    expect(await wh.json('SELECT event_id, customer_id FROM events')).toEqual([
      { event_id: 'e2', customer_id: 'c2' },
    ]);
  });

  it('a first load from the files with too many bad rows loads nothing and keeps them all', async () => {
    await parquet('events/a.parquet', [ev('e1'), ev('bad', null)].join(', '));
    await expect(loadNoting()).rejects.toThrow(/events: 1 of 2 rows rejected/);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(0);
    expect(await wh.json('SELECT reason FROM rejected_rows')).toEqual([{ reason: 'missing event_name' }]);
  });
});
