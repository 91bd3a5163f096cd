/**
 * One-off measurement (not a test): loads 1,000,000 GA4 Data API report rows through the real client from the
 * fake server (run in a child process so its encoding cost and memory are not counted here), then 1,000,000
 * BigQuery export events from a generated Parquet file. Prints wall time, peak RSS and peak JS heap.
 *
 *   npx tsx test/fakes/ga4-measure.ts [rows=1000000]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createGa4Client,
  type Ga4Api,
  loadGa4Export,
  parseGa4Config,
  pullGa4DataApi,
} from '../../connectors/sources/ga4/index.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { FakeGa4Server, type FakeRunReportRequest } from './ga4-server.ts';

const ROWS = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const PAGE = Number(process.env.GA4_MEASURE_PAGE_SIZE ?? 100_000);

/** Synthetic ecommerce_items report: row i = customer c<i/20>, item p<i%20>, one item view. */
function syntheticReport(req: FakeRunReportRequest): { rowCount: number; rows: string[][] } {
  if (!req.dimensions.includes('itemId')) return { rowCount: 0, rows: [] };
  const end = Math.min(ROWS, req.offset + req.limit);
  const rows: string[][] = [];
  for (let i = req.offset; i < end; i++)
    rows.push(['20261120', `c${Math.floor(i / 20)}`, `p${i % 20}`, `cat${i % 20}`, '1', '0', '0', '0']);
  return { rowCount: ROWS, rows };
}

async function serve(): Promise<void> {
  const fake = new FakeGa4Server({ report: syntheticReport });
  process.stdout.write(`${await fake.start()}\n`);
}

/** Samples memory while fn runs. */
async function measured<T>(label: string, fn: () => Promise<T>): Promise<T> {
  global.gc?.();
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    sample();
    const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
    console.log(
      `${label}: ${((performance.now() - t0) / 1000).toFixed(2)} s, peak RSS ${mb(rss)}, peak JS heap ${mb(heap)}`,
    );
  }
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', self, 'serve', String(ROWS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const dir = mkdtempSync(join(tmpdir(), 'ga4-measure-'));
  const wh = await Warehouse.open({ path: join(dir, 'measure.duckdb') });
  try {
    const config = parseGa4Config({
      propertyId: '123456',
      endpoint,
      insecure: true,
      backfillDays: 1,
      pageSize: PAGE,
    });
    const asOf = new Date('2026-11-20T12:00:00Z');
    const t0 = performance.now();
    const at = () => `${((performance.now() - t0) / 1000).toFixed(2)}s`;
    const log = {
      info: (o: object, m?: string) => console.log(`  [${at()}] ${m} ${JSON.stringify(o)}`),
      warn: (o: object, m?: string) => console.log(`  [${at()}] ${m} ${JSON.stringify(o)}`),
    };
    // Time spent waiting for GA4 (server, transfer, protobuf decoding) versus loading.
    const real = await createGa4Client(config);
    let inCalls = 0;
    const client: Ga4Api = {
      runReport: async (req, opts) => {
        const t = performance.now();
        try {
          return await real.runReport(req, opts);
        } finally {
          inCalls += performance.now() - t;
        }
      },
      getMetadata: (req, opts) => real.getMetadata(req, opts),
      close: () => real.close(),
    };
    const r = await measured(`Data API: ${ROWS} report rows in pages of ${config.pageSize}`, () =>
      pullGa4DataApi(wh, config, { runId: 'm1', asOf, log, client }),
    );
    await real.close();
    console.log(
      `  requests ${r.reports[0]?.requests}, events loaded ${r.rowsLoaded}, rejected ${r.rowsRejected}; ` +
        `${(inCalls / 1000).toFixed(2)} s of it inside RunReport calls`,
    );

    const file = join(dir, 'events_20261120.parquet');
    await wh.run(`COPY (
      SELECT '20261120' AS event_date, 1795132800000000 + i * 1000 AS event_timestamp,
        ['page_view', 'view_item', 'add_to_cart', 'purchase'][i % 4 + 1] AS event_name,
        [{'key': 'ga_session_id', 'value': {'string_value': NULL::VARCHAR, 'int_value': i // 10,
            'float_value': NULL::DOUBLE, 'double_value': NULL::DOUBLE}},
         {'key': 'page_location', 'value': {'string_value': 'https://shop.example/p/' || (i % 500),
            'int_value': NULL::BIGINT, 'float_value': NULL::DOUBLE, 'double_value': NULL::DOUBLE}}] AS event_params,
        CASE WHEN i % 3 = 0 THEN 'c' || (i // 7) END AS user_id, 'px.' || (i // 5) AS user_pseudo_id,
        CASE WHEN i % 4 = 0 THEN [] ELSE [{'item_id': 'SKU-' || (i % 500), 'item_name': 'Item', 'item_brand': 'Acme',
          'item_category': 'cat' || (i % 20), 'price': 10.0, 'quantity': 1}] END AS items
      FROM range(${ROWS}) t(i)) TO '${file}' (FORMAT parquet)`);
    const e = await measured(`Export: ${ROWS} events from Parquet`, () =>
      loadGa4Export(wh, { paths: file }, { runId: 'm2', asOf, log }),
    );
    console.log(`  events loaded ${e.rowsLoaded}, rejected ${e.rowsRejected}`);
  } finally {
    wh.close();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('serve')) await serve();
else await main();
