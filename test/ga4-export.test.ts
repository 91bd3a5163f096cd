import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadGa4Export } from '../connectors/sources/ga4/index.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { type ExportEvent, micros, writeExportTable } from './fakes/ga4-export.ts';
import { tempDir } from './helpers/temp.ts';

const AS_OF = new Date('2026-11-21T12:00:00Z');

/** A day of a small store: a customer buying two items, browsing, wishing, and anonymous / cookieless traffic. */
function day(date: string, extra: ExportEvent[] = []): ExportEvent[] {
  const at = (hms: string) => micros(`${date}T${hms}Z`);
  return [
    { micros: at('09:00:00.001'), name: 'session_start', userId: 'c1', pseudoId: 'px.1', sessionId: 1001 },
    {
      micros: at('09:01:00'),
      name: 'view_item',
      userId: 'c1',
      pseudoId: 'px.1',
      sessionId: 1001,
      items: [{ id: 'SKU-1', category: 'Shoes' }],
    },
    {
      micros: at('09:05:00'),
      name: 'add_to_wishlist',
      userId: 'c1',
      pseudoId: 'px.1',
      sessionId: 1001,
      params: { item_id: 'SKU-9' }, // a custom wishlist event carrying the product as a parameter
    },
    {
      micros: at('09:10:00'),
      name: 'purchase',
      userId: 'c1',
      pseudoId: 'px.1',
      sessionId: 1001,
      transactionId: `T-${date}`,
      items: [
        { id: 'SKU-1', category: 'Shoes', price: 59.9 },
        { id: 'SKU-2', category: 'Socks', quantity: 3 },
      ],
    },
    {
      micros: at('10:00:00'),
      name: 'view_item',
      pseudoId: 'px.2',
      sessionId: 2001,
      items: [{ id: 'SKU-3', category: 'Hats' }],
    },
    { micros: at('10:00:01'), name: 'page_view', pseudoId: 'px.2', sessionId: 2001 },
    { micros: at('11:00:00'), name: 'page_view' }, // consent-mode cookieless ping: no identifiers
    ...extra,
  ];
}

interface Line {
  customer_id: string | null;
  anonymous_id: string;
  session_id: string | null;
  event_name: string;
  product_id: string | null;
  category: string | null;
  occurred_at: string;
  event_count: number;
}

async function lines(wh: Warehouse): Promise<Line[]> {
  return wh.json<Line>(
    `SELECT customer_id, anonymous_id, session_id, event_name, product_id, category,
            strftime(occurred_at, '%Y-%m-%d %H:%M:%S.%f') AS occurred_at, event_count
     FROM events WHERE source = 'ga4_export' ORDER BY occurred_at, event_name, product_id`,
  );
}

describe('GA4 BigQuery export files', () => {
  let dir: string;
  let wh: Warehouse;

  beforeEach(async () => {
    dir = tempDir('ga4-export');
    wh = await Warehouse.open({ path: ':memory:' });
  });

  afterEach(() => wh.close());

  it('flattens a Parquet export: one row per item, ids, sessions and microsecond timestamps', async () => {
    await writeExportTable(wh, join(dir, 'events_20261120.parquet'), day('2026-11-20'));
    const r = await loadGa4Export(wh, { paths: join(dir, 'events_*.parquet') }, { runId: 'r1', asOf: AS_OF });

    expect(r.tables.map((t) => [t.tableDate, t.kind])).toEqual([['2026-11-20', 'daily']]);
    expect(r.unidentifiedEvents).toBe(1);
    expect(r.rowsRejected).toBe(0);
    expect(await lines(wh)).toEqual([
      row('c1', '09:00:00.001000', 'session_start', null, null),
      row('c1', '09:01:00.000000', 'view_item', 'SKU-1', 'Shoes'),
      row('c1', '09:05:00.000000', 'add_to_wishlist', 'SKU-9', null),
      row('c1', '09:10:00.000000', 'purchase', 'SKU-1', 'Shoes'),
      row('c1', '09:10:00.000000', 'purchase', 'SKU-2', 'Socks'),
      {
        ...row(null, '10:00:00.000000', 'view_item', 'SKU-3', 'Hats'),
        anonymous_id: 'px.2',
        session_id: 'px.2:2001',
      },
      {
        ...row(null, '10:00:01.000000', 'page_view', null, null),
        anonymous_id: 'px.2',
        session_id: 'px.2:2001',
      },
    ]);

    function row(
      customer: string | null,
      time: string,
      name: string,
      product: string | null,
      cat: string | null,
    ) {
      return {
        customer_id: customer,
        anonymous_id: 'px.1',
        session_id: 'px.1:1001',
        event_name: name,
        product_id: product,
        category: cat,
        occurred_at: `2026-11-20 ${time}`,
        event_count: 1,
      };
    }
  });

  it('reads newline-delimited JSON exports (INT64 as strings) to the same rows as Parquet', async () => {
    await writeExportTable(wh, join(dir, 'events_20261120.json'), day('2026-11-20'));
    const parquetDir = join(dir, 'pq');
    mkdirSync(parquetDir);
    const other = await Warehouse.open({ path: ':memory:' });
    try {
      await writeExportTable(other, join(parquetDir, 'events_20261120.parquet'), day('2026-11-20'));
      await loadGa4Export(other, { paths: parquetDir }, { runId: 'r1', asOf: AS_OF });
      const r = await loadGa4Export(
        wh,
        { paths: join(dir, 'events_20261120.json') },
        { runId: 'r1', asOf: AS_OF },
      );
      expect(r.rowsLoaded).toBe(7);
      expect(await lines(wh)).toEqual(await lines(other));
    } finally {
      other.close();
    }
  });

  it('is incremental by table date, re-reads the trailing 3 days, and never double counts', async () => {
    for (const d of ['12', '13', '14', '15', '16', '17', '18', '19', '20'])
      await writeExportTable(wh, join(dir, `events_202611${d}.parquet`), day(`2026-11-${d}`));
    const first = await loadGa4Export(wh, { paths: dir }, { runId: 'r1', asOf: AS_OF });
    expect(first.tables).toHaveLength(9);
    expect(await wh.scalar(`SELECT count(*) FROM events`)).toBe(9 * 7);

    // GA4 rewrites Nov 19 with a late event; Nov 21 arrives (intraday first).
    const late: ExportEvent = {
      micros: micros('2026-11-19T23:59:59Z'),
      name: 'add_to_cart',
      userId: 'c2',
      pseudoId: 'px.9',
      items: [{ id: 'SKU-4', category: 'Bags' }],
    };
    await writeExportTable(wh, join(dir, 'events_20261119.parquet'), day('2026-11-19', [late]));
    await writeExportTable(wh, join(dir, 'events_intraday_20261121.parquet'), day('2026-11-21').slice(0, 3));
    const second = await loadGa4Export(wh, { paths: dir }, { runId: 'r2', asOf: AS_OF });
    expect(second.tables.map((t) => `${t.tableDate}:${t.kind}`)).toEqual([
      '2026-11-18:daily',
      '2026-11-19:daily',
      '2026-11-20:daily',
      '2026-11-21:intraday',
    ]);
    expect(second.tablesSkipped).toBe(6);
    expect(await wh.scalar(`SELECT count(*) FROM events`)).toBe(9 * 7 + 1 + 3);

    // The daily table replaces the intraday one; an unchanged re-run changes nothing.
    await writeExportTable(wh, join(dir, 'events_20261121.parquet'), day('2026-11-21'));
    const third = await loadGa4Export(wh, { paths: dir }, { runId: 'r3', asOf: AS_OF });
    expect(third.tables.find((t) => t.tableDate === '2026-11-21')?.kind).toBe('daily');
    const total = 10 * 7 + 1;
    expect(await wh.scalar(`SELECT count(*) FROM events`)).toBe(total);
    await loadGa4Export(wh, { paths: dir }, { runId: 'r4', asOf: AS_OF });
    expect(await wh.scalar(`SELECT count(*) FROM events`)).toBe(total);
    expect(await wh.scalar(`SELECT count(DISTINCT COALESCE(event_id, event_key)) FROM events`)).toBe(total);
    expect(
      await wh.all(
        `SELECT strftime(table_date, '%Y-%m-%d') AS d, kind FROM ga4_export_tables ORDER BY d DESC LIMIT 1`,
      ),
    ).toEqual([{ d: '2026-11-21', kind: 'daily' }]);
  });

  it('rejects a malformed event with its reason and loads the rest', async () => {
    const file = join(dir, 'events_20261120.json');
    // Five visitors behaving alike (35 rows), then one line whose timestamp is not a number.
    const events = [1, 2, 3, 4, 5].flatMap((v) =>
      day('2026-11-20').map((e) => ({ ...e, pseudoId: e.pseudoId && `${e.pseudoId}.${v}` })),
    );
    await writeExportTable(wh, file, events);
    appendFileSync(
      file,
      `${JSON.stringify({ event_timestamp: 'soon', event_name: 'view_item', user_pseudo_id: 'px.7' })}\n`,
    );
    const r = await loadGa4Export(wh, { paths: file }, { runId: 'r1', asOf: AS_OF });
    expect(r.rowsRejected).toBe(1);
    expect(await wh.all('SELECT reason, source FROM rejected_rows')).toEqual([
      { reason: 'unparseable occurred_at: soon', source: 'ga4_export:events_20261120' },
    ]);
    expect(r.rowsLoaded).toBe(r.rowsRead - 1);
  });

  it('names the file when an input is not an export table', async () => {
    await expect(
      loadGa4Export(wh, { paths: join(dir, 'nope') }, { runId: 'r', asOf: AS_OF }),
    ).rejects.toThrow(/nope does not exist/);
    writeFileSync(join(dir, 'events_notes.txt'), 'x');
    await expect(loadGa4Export(wh, { paths: dir }, { runId: 'r', asOf: AS_OF })).rejects.toThrow(
      /events_notes.txt is not an export table file/,
    );
    rmSync(join(dir, 'events_notes.txt'));
    await wh.run(
      `COPY (SELECT 1 AS event_timestamp, 'x' AS event_name) TO '${join(dir, 'events_20261120.parquet')}'`,
    );
    await expect(loadGa4Export(wh, { paths: dir }, { runId: 'r', asOf: AS_OF })).rejects.toThrow(
      /events_20261120.parquet has no column 'user_pseudo_id'/,
    );
  });
});
