import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createShopifyApi } from '../connectors/sources/shopify/client.ts';
import { shopifyConfig } from '../connectors/sources/shopify/config.ts';
import { SHOPIFY_OBJECTS } from '../connectors/sources/shopify/objects.ts';
import { pullObject } from '../connectors/sources/shopify/pull.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

/**
 * Pull rate of the Shopify source (bench/README.md, "Store sources: Shopify"): a bulk export of N orders with their
 * line items from the local fake Admin API (own process, Standard-plan cost bucket), streamed to a temp file and
 * loaded into a fresh DuckDB file. Reports the download and load times, rows/s and this process's peak RSS during
 * the download (the stream) and overall (DuckDB's load, bounded by --memory-limit).
 *   node bin/run-ts.mjs bench/stores-shopify.ts [--orders 1000000] [--memory-limit 1GB]
 */
const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '1000000' },
    'memory-limit': { type: 'string', default: '1GB' },
  },
});
const orders = Number(values.orders);

function startFake(): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(
    process.execPath,
    [resolve('bin/run-ts.mjs'), 'test/fakes/shopify-child.ts', String(orders)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+) (\S+)/.exec(out);
      if (m) ok({ child, url: m[1] as string, token: m[2] as string });
    });
    child.on('exit', (code) => fail(new Error(`fake exited ${code}`)));
  });
}

function stopFake(child: ChildProcess): Promise<string> {
  return new Promise((ok) => {
    let out = '';
    child.stdout?.removeAllListeners('data');
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.removeAllListeners('exit');
    child.on('exit', () => ok(out.trim()));
    child.kill('SIGTERM');
  });
}

const fake = await startFake();
const dir = mkdtempSync(join(tmpdir(), 'retarget-bench-shopify-'));
const wh = await Warehouse.open({ path: join(dir, 'bench.duckdb'), memoryLimit: values['memory-limit'] });
let peak = 0;
let downloadPeak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 25);
try {
  const config = shopifyConfig(
    { pollMinMs: 200, pollMaxMs: 2000 },
    { SHOPIFY_SHOP: 'bench-shop.myshopify.com', SHOPIFY_ACCESS_TOKEN: fake.token, SHOPIFY_API_URL: fake.url },
  );
  if (!config) throw new Error('no config');
  const rssBefore = process.memoryUsage.rss();
  const api = createShopifyApi(config, () => {});
  const started = Date.now();
  const pull = await pullObject(wh, api, config, SHOPIFY_OBJECTS.orders, {
    runId: 'bench',
    asOf: new Date(),
    log: () => {},
    // Called once the result is on disk, before DuckDB reads it: the peak so far is the download's.
    checkpoint: async (point) => {
      if (point.startsWith('load:')) downloadPeak = Math.max(peak, process.memoryUsage.rss());
    },
    checkpointSync: () => {},
  });
  const totalMs = Date.now() - started;
  const loaded = await wh.one<{ orders: bigint; lines: bigint }>(
    'SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS lines',
  );
  const served = await stopFake(fake.child);
  const rows = pull.objects;
  const mib = (b: number) => Math.round(b / 2 ** 20);
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const figures = {
    orders,
    jsonlLines: rows,
    jsonlMiB: mib(pull.bytes),
    ordersLoaded: Number(loaded?.orders),
    linesLoaded: Number(loaded?.lines),
    bulkOperationS: s(pull.waitMs),
    downloadS: s(pull.downloadMs),
    loadS: s(pull.loadMs),
    totalS: s(totalMs),
    downloadRowsPerS: Math.round(rows / (pull.downloadMs / 1000)),
    loadRowsPerS: Math.round(rows / (pull.loadMs / 1000)),
    downloadAndLoadRowsPerS: Math.round(rows / ((pull.downloadMs + pull.loadMs) / 1000)),
    requests: api.stats.requests,
    throttled: api.stats.throttled,
    rssBeforeMiB: mib(rssBefore),
    downloadPeakRssMiB: mib(downloadPeak),
    peakRssMiB: mib(peak),
    fake: JSON.parse(served || '{}'),
  };
  console.log(JSON.stringify(figures, null, 2));
  if (figures.ordersLoaded !== orders) throw new Error(`loaded ${figures.ordersLoaded} orders of ${orders}`);
} finally {
  clearInterval(sampler);
  wh.close();
  rmSync(dir, { recursive: true, force: true });
  if (fake.child.exitCode === null) fake.child.kill('SIGTERM');
}
