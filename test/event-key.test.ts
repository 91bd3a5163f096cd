import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFilesSource } from '../connectors/sources/files/load.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { closeExportDir, type ExportDir, openExportDir, writeExport } from './export-dir.ts';
import { storedCompression } from './helpers/compression.ts';
import { openOlderDatabase } from './older-database.ts';

/**
 * events.event_key holds a key only for an event without an event_id (migration 0043, issue 13): an event is its
 * event_id, else the hash of its fields. Rows stored before 0043 repeat the event_id there; both shapes de-duplicate.
 */

let scratch: ExportDir;
let run = 0;

beforeEach(async () => {
  scratch = await openExportDir('retarget-event-key-');
});
afterEach(() => closeExportDir(scratch));

const EVENTS = 'event_id,customer_id,event_name,product_id,occurred_at\n';
const load = (wh: Warehouse) =>
  loadFilesSource(wh, { dir: scratch.dir, runId: `r${++run}`, maxRejectShare: 1 });
const stored = (wh: Warehouse) =>
  wh.json(`SELECT event_id, product_id, left(event_key, 2) AS key FROM events ORDER BY product_id`);

describe('the stored event key', () => {
  it('is NULL for an event with an event_id, and a hash for one without', async () => {
    const { wh, dir } = scratch;
    writeExport(
      dir,
      'events/a.csv',
      `${EVENTS}e1,c1,view_item,p1,2026-11-01 10:00\n,c1,view_item,p2,2026-11-01 10:00\n`,
    );
    await load(wh);
    expect(await stored(wh)).toEqual([
      { event_id: 'e1', product_id: 'p1', key: null },
      { event_id: null, product_id: 'p2', key: 'h:' },
    ]);
  });

  it('values are trimmed by their bytes: a space around a multi-byte value, a blank event_id is no event_id', async () => {
    const { wh, dir } = scratch;
    writeExport(
      dir,
      'events/a.csv',
      `${EVENTS}" e1 ",c1,view_item," pé",2026-11-01 10:00\n" ",c1,view_item,"é ",2026-11-01 10:00\n` +
        `e3,c1," ",p3,2026-11-01 10:00\n`,
    );
    const report = await load(wh);
    expect(await stored(wh)).toEqual([
      { event_id: 'e1', product_id: 'pé', key: null },
      { event_id: null, product_id: 'é', key: 'h:' },
    ]);
    expect(report.tables.find((t) => t.table === 'events')?.rowsRejected).toBe(1);
    expect(await wh.json('SELECT reason FROM rejected_rows')).toEqual([{ reason: 'missing event_name' }]);
  });
});

describe('the stored events compression', () => {
  it('event_id and session_id are FSST without a dictionary trial, even where one would win; event names keep it', async () => {
    const { wh } = scratch;
    // Three distinct values over 5,000 rows: DuckDB's own choice would be a dictionary for every column.
    await wh.run(
      `INSERT INTO events (event_id, session_id, event_name, occurred_at)
       SELECT 'e' || (i % 3), 's' || (i % 3), 'view_item', TIMESTAMP '2026-11-01' FROM range(5000) t(i)`,
    );
    expect(await storedCompression(wh, 'events')).toMatchObject({
      event_id: 'FSST',
      event_name: 'Dictionary',
      session_id: 'FSST',
    });
  });
});

describe('migration 0043 on events an older retarget stored', () => {
  it('keeps them, and a load of the same events (with and without an event_id) adds none of them again', async () => {
    const { path, instance, connection } = await openOlderDatabase(scratch.root, 43);
    // The old shape: the event_id repeated as event_key, a keyless event keyed by its hash.
    await connection.run(
      `INSERT INTO events (event_id, customer_id, event_name, product_id, occurred_at, event_count, source, event_key)
       VALUES ('e1', 'c1', 'view_item', 'p1', TIMESTAMP '2026-11-01 10:00', 1, 'files', 'e1')`,
    );
    connection.closeSync();
    instance.closeSync();
    const wh = await Warehouse.open({ path });
    try {
      // A keyless event (its hash is the same whichever retarget computed it).
      writeExport(scratch.dir, 'events/a.csv', `${EVENTS},c2,add_to_cart,p2,2026-11-01 11:00\n`);
      await load(wh);
      expect(await wh.scalar('SELECT count(*) FROM events')).toBe(2);
      writeExport(
        scratch.dir,
        'events/b.csv',
        `${EVENTS}e1,c1,view_item,p1,2026-11-01 10:00\n,c2,add_to_cart,p2,2026-11-01 11:00\ne3,c3,view_item,p3,2026-11-01 12:00\n`,
      );
      await load(wh);
      expect(await stored(wh)).toEqual([
        { event_id: 'e1', product_id: 'p1', key: 'e1' },
        { event_id: null, product_id: 'p2', key: 'h:' },
        { event_id: 'e3', product_id: 'p3', key: null },
      ]);
    } finally {
      wh.close();
    }
  });
});
