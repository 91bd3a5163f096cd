import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ecwidConfig } from '../connectors/sources/ecwid/config.ts';
import { pullEcwid } from '../connectors/sources/ecwid/pull.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

/**
 * Pull rate of the Ecwid source against the local fake API with its rate limit configured (bench/README.md,
 * "Store sources: Ecwid"). The fake runs in its own process; this one pulls into a fresh DuckDB file and reports
 * requests/s and orders/s against the limit, 429s received, and its peak RSS.
 *   node bin/run-ts.mjs bench/stores-ecwid.ts [--orders 50000] [--per-minute 600] [--pages-per-commit 50]
 */
const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '50000' },
    'per-minute': { type: 'string', default: '600' },
    'pages-per-commit': { type: 'string', default: '50' },
  },
});
const orders = Number(values.orders);
const perMinute = Number(values['per-minute']);

function startFake(): Promise<{ child: ChildProcess; url: string; storeId: string; token: string }> {
  const child = spawn(
    process.execPath,
    [resolve('bin/run-ts.mjs'), 'test/fakes/ecwid-child.ts', String(orders), String(perMinute)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+) (\S+) (\S+)/.exec(out);
      if (m) ok({ child, url: m[1]!, storeId: m[2]!, token: m[3]! });
    });
    child.on('exit', (code) => fail(new Error(`fake exited ${code}`)));
  });
}

function stopFake(child: ChildProcess): Promise<string> {
  return new Promise((ok) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', () => ok(out.trim()));
    child.kill('SIGTERM');
  });
}

const fake = await startFake();
const dir = mkdtempSync(join(tmpdir(), 'retarget-bench-ecwid-'));
const wh = await Warehouse.open({ path: join(dir, 'bench.duckdb') });
let peak = 0;
let heap = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  heap = Math.max(heap, m.heapUsed + m.external + m.arrayBuffers);
}, 50);
try {
  const config = ecwidConfig(
    { requestsPerMinute: Math.min(perMinute, 600), pagesPerCommit: Number(values['pages-per-commit']) },
    { ECWID_STORE_ID: fake.storeId, ECWID_TOKEN: fake.token, ECWID_API_URL: fake.url },
  );
  if (!config) throw new Error('no config');
  // The client's pace is capped at Ecwid's 600/min by the settings schema; a scaled fake limit scales it too.
  config.requestsPerMinute = perMinute;
  const rssBefore = process.memoryUsage.rss();
  const report = await pullEcwid(wh, config, {
    runId: 'bench',
    now: new Date(),
    log: () => {},
    checkpoint: async () => {},
  });
  const loaded = await wh.scalar('SELECT count(*) FROM orders');
  const served = await stopFake(fake.child);
  const limit = perMinute / 60;
  const result = {
    orders,
    loaded,
    perMinute,
    seconds: +report.seconds.toFixed(1),
    requests: report.requests,
    requestsPerSecond: +(report.requests / report.seconds).toFixed(2),
    limitPerSecond: +limit.toFixed(2),
    shareOfLimit: +(report.requests / report.seconds / limit).toFixed(3),
    ordersPerSecond: Math.round(orders / report.seconds),
    rateLimitedMs: report.rateLimitedMs,
    fake: served,
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    // JavaScript's share (heap and buffers): bounded by a page; the rest of RSS is DuckDB's cache and indexes.
    peakJsMiB: Math.round(heap / 2 ** 20),
    peakRssMiB: Math.round(Math.max(peak, process.resourceUsage().maxRSS * 1024) / 2 ** 20),
  };
  if (loaded !== orders) throw new Error(`loaded ${loaded} orders, expected ${orders}`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  clearInterval(sampler);
  wh.close();
  rmSync(dir, { recursive: true, force: true });
  if (fake.child.exitCode === null) fake.child.kill('SIGTERM');
}
