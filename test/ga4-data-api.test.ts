import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Ga4Config,
  Ga4ConfigError,
  ga4ConfigFromEnv,
  ga4SourcesFromConfig,
  parseGa4Config,
  pullGa4DataApi,
} from '../connectors/sources/ga4/index.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FAKE_ITEM_METRICS, type FakeGa4Fact, FakeGa4Server } from './fakes/ga4-server.ts';
import { tempDir } from './helpers/temp.ts';

const ITEM_PARAM = 'customEvent:item_id';
const AS_OF = new Date('2026-11-20T15:00:00Z');

/** Deterministic browsing: 6 customers (plus anonymous traffic) over Oct 25 .. Nov 25. */
function makeFacts(seed = 7): FakeGa4Fact[] {
  let s = seed;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
  const facts: FakeGa4Fact[] = [];
  for (let day = 25; day <= 56; day++) {
    const date = day <= 31 ? `202610${day}` : `202611${String(day - 31).padStart(2, '0')}`;
    for (const customer of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', undefined]) {
      for (const eventName of ['view_item', 'add_to_cart', 'purchase']) {
        if (rnd(3) === 0) continue;
        const itemId = `p${rnd(4)}`;
        facts.push({ date, customer, eventName, itemId, itemCategory: `cat${itemId}`, count: 1 + rnd(5) });
      }
      if (rnd(4) === 0)
        facts.push({ date, customer, eventName: 'add_to_wishlist', paramItemId: `p${rnd(4)}`, count: 1 });
      if (rnd(3) === 0) facts.push({ date, customer, eventName: 'page_view', count: 3 });
    }
  }
  return facts;
}

const WANTED = new Set([...Object.values(FAKE_ITEM_METRICS).slice(0, 4), 'add_to_wishlist']);

/** What `events` should hold for the facts of [from, to]: one line per day, customer, event and product. */
function expected(facts: FakeGa4Fact[], from: string, to: string, itemParam = true): string[] {
  const sums = new Map<string, number>();
  for (const f of facts) {
    if (!f.customer || !WANTED.has(f.eventName) || f.date < from || f.date > to) continue;
    const product = f.eventName === 'add_to_wishlist' ? (itemParam ? f.paramItemId : undefined) : f.itemId;
    const day = `${f.date.slice(0, 4)}-${f.date.slice(4, 6)}-${f.date.slice(6, 8)}`;
    const key = `${day}|${f.customer}|${f.eventName}|${product ?? ''}`;
    sums.set(key, (sums.get(key) ?? 0) + f.count);
  }
  return [...sums].map(([k, n]) => `${k}|${n}`).sort();
}

async function actual(wh: Warehouse): Promise<string[]> {
  const rows = await wh.all<{ line: string }>(
    `SELECT k || '|' || sum(event_count) AS line FROM (
       SELECT strftime(occurred_at, '%Y-%m-%d') || '|' || customer_id || '|' || event_name || '|' ||
              coalesce(product_id, '') AS k, event_count
       FROM events WHERE source = 'ga4_data_api') GROUP BY k`,
  );
  return rows.map((r) => r.line).sort();
}

describe('GA4 Data API source against a local gRPC GA4', () => {
  let fake: FakeGa4Server;
  let wh: Warehouse;
  let config: Ga4Config;

  beforeEach(async () => {
    fake = new FakeGa4Server({ facts: makeFacts(), itemParamDimension: ITEM_PARAM });
    const endpoint = await fake.start();
    const fromEnv = ga4ConfigFromEnv({
      GA4_PROPERTY_ID: '123456',
      GA4_API_ENDPOINT: endpoint,
      GA4_INSECURE: '1',
    });
    if (!fromEnv) throw new Error('config expected');
    config = { ...fromEnv, backfillDays: 10, pageSize: 10, retryMinTimeoutMs: 1, retryMaxTimeoutMs: 5 };
    wh = await Warehouse.open({ path: ':memory:' });
  });

  afterEach(async () => {
    wh.close();
    await fake.stop();
  });

  it('backfills through the real client, paging with offset/limit up to rowCount', async () => {
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });

    expect(r.stopped).toBeNull();
    expect(r.wishlistItemDimension).toBe(ITEM_PARAM);
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261111', '20261120'));
    // Several pages per chunk, each asking for the next offset of the same date range.
    const items = fake.requests.filter(
      (q) => q.dimensions.includes('itemId') && q.startDate === '2026-11-11',
    );
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(items.map((q) => q.offset)).toEqual(items.map((_, i) => i * 10));
    expect(items.every((q) => q.limit === 10 && q.returnPropertyQuota)).toBe(true);
    // Item dimensions with item-scoped metrics only; wishlists by eventName with eventCount.
    expect(items[0]?.metrics).toEqual([
      'itemsViewed',
      'itemsAddedToCart',
      'itemsCheckedOut',
      'itemsPurchased',
    ]);
    const wish = fake.requests.find((q) => q.metrics.includes('eventCount'));
    expect(wish?.dimensions).toEqual(['date', 'customUser:customer_id', 'eventName', ITEM_PARAM]);
    expect(wish?.eventNameFilter).toEqual(['add_to_wishlist']);

    const times = await wh.all<{ t: string }>(
      `SELECT DISTINCT strftime(occurred_at, '%H:%M:%S') AS t FROM events WHERE source = 'ga4_data_api'`,
    );
    expect(times).toEqual([{ t: '00:00:00' }]); // a day's row is that day at 00:00 UTC
    expect(r.unattributedRows).toBeGreaterThan(0); // anonymous traffic is counted, not loaded
    expect(r.rowsLoaded).toBe(r.rowsRead);
    expect(r.reports.map((x) => [x.report, x.from, x.to, x.pulledThrough])).toEqual([
      ['ecommerce_items', '2026-11-11', '2026-11-20', '2026-11-20'],
      ['wishlists', '2026-11-11', '2026-11-20', '2026-11-20'],
    ]);
    expect(r.quota?.tokensPerDayRemaining).toBe(200_000 - fake.tokensConsumed);
  });

  it('leaves no scratch pages beside the database, and removes those a killed run left', async () => {
    const dir = tempDir('ga4-pages');
    const db = await Warehouse.open({ path: join(dir, 'shop.duckdb') });
    const scratch = join(dir, '.shop.duckdb.ga4-pages');
    mkdirSync(scratch);
    writeFileSync(join(scratch, 'ga4_stage_1_1_1.txt'), 'a page a killed run left');
    try {
      const r = await pullGa4DataApi(db, config, { runId: 'r1', asOf: AS_OF });
      expect(r.rowsLoaded).toBeGreaterThan(0);
      expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('loads wishlist adds without a product when the property has no item id dimension', async () => {
    fake.itemParamDimension = null;
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.wishlistItemDimension).toBeNull();
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261111', '20261120', false));
    const wish = await wh.scalar(
      `SELECT count(*) FROM events WHERE event_name = 'add_to_wishlist' AND product_id IS NULL`,
    );
    expect(wish).toBeGreaterThan(0);
  });

  it('re-pulls the trailing 3 days, replacing them, so restated and repeated runs never double count', async () => {
    await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    // GA4 restates Nov 18 and Nov 19 and a new day arrives.
    for (const f of fake.facts) if (f.date === '20261118' || f.date === '20261119') f.count += 2;
    fake.requests.length = 0;

    const r2 = await pullGa4DataApi(wh, config, { runId: 'r2', asOf: new Date('2026-11-21T06:00:00Z') });
    expect(new Set(fake.requests.map((q) => `${q.startDate}..${q.endDate}`))).toEqual(
      new Set(['2026-11-18..2026-11-21']),
    );
    expect(r2.reports.every((x) => x.pulledThrough === '2026-11-21')).toBe(true);
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261111', '20261121'));

    const before = await wh.scalar('SELECT count(*) FROM events');
    await pullGa4DataApi(wh, config, { runId: 'r3', asOf: new Date('2026-11-21T07:00:00Z') });
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(before);
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261111', '20261121'));
  });

  it('stops cleanly when the quota runs out mid-backfill and resumes on the next run', async () => {
    config = { ...config, backfillDays: 28, pageSize: 250_000, daysPerRequest: 7 };
    fake.tokensPerDay = 30; // three requests: three of the four weekly item chunks

    const r1 = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r1.stopped?.reason).toBe('quota');
    expect(r1.reports.map((x) => x.report)).toEqual(['ecommerce_items']);
    expect(r1.reports[0]?.pulledThrough).toBe('2026-11-13'); // Oct 24 + 3 weeks - 1 day
    expect(await actual(wh)).toEqual(
      expected(fake.facts, '20261024', '20261113').filter((l) => !l.includes('add_to_wishlist')),
    );

    fake.resetQuota(); // the next day, with a normal budget
    fake.tokensPerDay = 200_000;
    const r2 = await pullGa4DataApi(wh, config, { runId: 'r2', asOf: AS_OF });
    expect(r2.stopped).toBeNull();
    // Resumes from the mark (minus the trailing window) rather than starting over.
    expect(r2.reports[0]?.from).toBe('2026-11-11');
    expect(r2.reports[1]?.from).toBe('2026-10-24');
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261024', '20261120'));
  });

  it('stops before loading a partial chunk when the hourly quota reads zero', async () => {
    fake.tokensPerHour = 20; // the second page leaves 0 tokens this hour
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.stopped?.reason).toBe('quota');
    expect(r.stopped?.message).toMatch(/per hour remaining 0/);
    expect(fake.requests).toHaveLength(2);
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM ga4_sync_state')).toBe(0);
  });

  it('retries transient gRPC errors with backoff and fails fast on others', async () => {
    fake.failNext.push(
      { code: status.UNAVAILABLE, details: 'backend unavailable' },
      { code: status.DEADLINE_EXCEEDED, details: 'deadline' },
    );
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.stopped).toBeNull();
    expect(await actual(wh)).toEqual(expected(fake.facts, '20261111', '20261120'));

    const wh2 = await Warehouse.open({ path: ':memory:' });
    try {
      fake.failNext.push({
        code: status.PERMISSION_DENIED,
        details: 'User does not have sufficient permissions',
      });
      const calls = fake.requests.length;
      await expect(pullGa4DataApi(wh2, config, { runId: 'r2', asOf: AS_OF })).rejects.toThrow(
        /RunReport ecommerce_items .* PERMISSION_DENIED: User does not have sufficient permissions/,
      );
      expect(fake.requests.length).toBe(calls + 1);
      fake.failNext.push(...Array.from({ length: 3 }, () => ({ code: status.UNAVAILABLE, details: 'down' })));
      await expect(
        pullGa4DataApi(wh2, { ...config, retries: 2 }, { runId: 'r3', asOf: AS_OF }),
      ).rejects.toThrow(/UNAVAILABLE: down/);
    } finally {
      wh2.close();
    }
  });

  it('rejects a malformed row with its reason and loads the rest', async () => {
    let done = false;
    fake.corrupt = (row) => {
      // One ecommerce_items row of customer c2: itemsViewed becomes text.
      if (done || row[1] !== 'c2' || row.length !== 8) return row;
      done = true;
      return [...row.slice(0, 4), 'lots', ...row.slice(5)];
    };
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.rowsRejected).toBe(1);
    const rejected = await wh.all<{ reason: string; source: string; run_id: string }>(
      'SELECT reason, source, run_id FROM rejected_rows',
    );
    expect(rejected).toEqual([
      { reason: 'invalid event_count: lots', source: 'ga4_data_api:ecommerce_items', run_id: 'r1' },
    ]);
    expect(r.rowsLoaded).toBe(r.rowsRead - 1);
  });

  it('loads nothing for a chunk with too many bad rows, and says which report and days', async () => {
    fake.corrupt = (row) => (row[0] === '20261112' ? ['12 Nov', ...row.slice(1)] : row);
    await expect(pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF })).rejects.toThrow(
      /GA4 report 'ecommerce_items' 2026-11-11\.\.2026-11-17: events: \d+ of \d+ rows rejected/,
    );
    expect(await wh.scalar('SELECT count(*) FROM events')).toBe(0);
    expect(await wh.scalar('SELECT count(*) FROM ga4_sync_state')).toBe(0);
    const reasons = await wh.all<{ reason: string }>('SELECT DISTINCT reason FROM rejected_rows');
    expect(reasons).toEqual([{ reason: 'unparseable occurred_at: 12 Nov' }]);
  });

  it('keeps values with line breaks or the field separator as one field', async () => {
    fake.facts = [
      {
        date: '20261119',
        customer: 'c1',
        eventName: 'view_item',
        itemId: 'p|1',
        itemCategory: 'Shoes\nand\u001fBoots',
        count: 2,
      },
    ];
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.rowsRejected).toBe(0);
    expect(await wh.all('SELECT customer_id, product_id, category, event_count FROM events')).toEqual([
      { customer_id: 'c1', product_id: 'p|1', category: 'Shoes and Boots', event_count: 2 },
    ]);
  });

  it('counts rows GA4 flags as thresholded', async () => {
    fake.thresholded = true;
    const r = await pullGa4DataApi(wh, config, { runId: 'r1', asOf: AS_OF });
    expect(r.thresholdedRows).toBeGreaterThan(0);
    expect(r.thresholdedRows).toBe(r.reports.reduce((n, x) => n + x.rowsFetched, 0));
  });

  it('refuses incompatible or unknown report fields before spending quota', async () => {
    const bad = parseGa4Config({
      propertyId: '123456',
      endpoint: 'localhost:1',
      insecure: true,
      reports: [
        { name: 'wish', kind: 'events', eventNames: ['add_to_wishlist'], productDimension: 'itemId' },
      ],
    });
    await expect(
      pullGa4DataApi(wh, { ...config, reports: bad.reports }, { runId: 'r', asOf: AS_OF }),
    ).rejects.toThrow(
      /item-scoped dimension\(s\) itemId cannot be combined with event-scoped metric\(s\) eventCount/,
    );
    await expect(
      pullGa4DataApi(wh, { ...config, customerDimension: 'customUser:crm_id' }, { runId: 'r', asOf: AS_OF }),
    ).rejects.toThrow(Ga4ConfigError);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('GA4 configuration', () => {
  it('reads the environment and validates it', () => {
    expect(ga4ConfigFromEnv({})).toBeUndefined();
    const c = ga4ConfigFromEnv({
      GA4_PROPERTY_ID: 'properties/42',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
    });
    expect(c).toMatchObject({
      propertyId: '42',
      credentialsFile: '/k.json',
      insecure: false,
      customerDimension: 'customUser:customer_id',
      backfillDays: 90,
      trailingDays: 3,
      pageSize: 100_000,
    });
    expect(c?.reports.map((r) => r.name)).toEqual(['ecommerce_items', 'wishlists']);
    expect(() => ga4ConfigFromEnv({ GA4_PROPERTY_ID: '42', GA4_INSECURE: '1' })).toThrow(
      /ga4.endpoint: insecure/,
    );
    expect(() => ga4ConfigFromEnv({ GA4_PROPERTY_ID: 'abc' })).toThrow(/ga4.propertyId: GA4 property id/);
    expect(() => ga4ConfigFromEnv({ GA4_PROPERTY_ID: '42', GA4_BACKFILL_DAYS: 'ninety' })).toThrow(
      /GA4_BACKFILL_DAYS/,
    );
  });

  it('combines the retarget.config.ts section with the environment, which wins where set', () => {
    expect(ga4SourcesFromConfig(undefined, {})).toEqual({});
    const section = {
      propertyId: '42',
      backfillDays: 30,
      reports: [
        {
          name: 'carts',
          kind: 'items',
          metrics: { itemsAddedToCart: 'add_to_cart' },
          productDimension: 'itemId',
        },
      ],
      export: { paths: 'data/ga4/events_*.parquet' },
    };
    const s = ga4SourcesFromConfig(section, {
      GA4_API_ENDPOINT: '127.0.0.1:9',
      GA4_INSECURE: '1',
      GA4_BACKFILL_DAYS: '5',
    });
    expect(s.dataApi).toMatchObject({
      propertyId: '42',
      endpoint: '127.0.0.1:9',
      insecure: true,
      backfillDays: 5,
    });
    expect(s.dataApi?.reports).toEqual([
      {
        name: 'carts',
        kind: 'items',
        time: 'date',
        metrics: { itemsAddedToCart: 'add_to_cart' },
        productDimension: 'itemId',
      },
    ]);
    expect(s.export).toEqual({ paths: 'data/ga4/events_*.parquet', trailingDays: 3, maxRejectShare: 0.05 });
    expect(ga4SourcesFromConfig({}, { GA4_EXPORT_PATHS: 'a/*.json, b' }).export?.paths).toEqual([
      'a/*.json',
      'b',
    ]);
    expect(() =>
      ga4SourcesFromConfig({ propertyId: '42', reports: [{ name: 'X', kind: 'items', metrics: {} }] }, {}),
    ).toThrow(/ga4.reports.0.name: use lower_snake_case.*ga4.reports.0.metrics: 1 to 10 metrics/);
    expect(() => ga4SourcesFromConfig({ export: { trailingDays: 3 } }, {})).toThrow(/ga4.export.paths/);
    // A misspelt setting is an error naming it, never a silently disabled source.
    expect(() => ga4SourcesFromConfig({ propertyID: '42' }, {})).toThrow(
      /ga4.propertyId: .*ga4: Unrecognized key: "propertyID"/,
    );
    expect(() => ga4SourcesFromConfig({ export: { paths: 'a', trailingDay: 2 } }, {})).toThrow(/trailingDay/);
  });
});
