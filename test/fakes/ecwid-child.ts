import { makeStore, toEcwid } from './ecwid-data.ts';
import { FakeEcwidServer } from './ecwid-server.ts';

/**
 * The fake Ecwid API in its own process (bench/stores-ecwid.ts), so the pulling process's memory is measured
 * alone. Args: orders, requests per minute. Prints `ready <url> <storeId> <token>` once listening.
 */
const [orders = '1000', perMinute = '600'] = process.argv.slice(2);
const now = Math.floor(Date.now() / 1000);
const n = Number(orders);
const model = makeStore({
  customers: Math.max(10, Math.floor(n / 20)),
  guests: Math.max(5, Math.floor(n / 100)),
  orders: n,
  carts: 0,
  now,
});
const fake = await new FakeEcwidServer({ data: toEcwid(model), perMinute: Number(perMinute) }).start();
process.stdout.write(`ready ${fake.url} ${fake.storeId} ${fake.token}\n`);
process.on('SIGTERM', () => {
  const limited = fake.requests.filter((r) => r.status === 429).length;
  process.stdout.write(`served ${fake.requests.length} limited ${limited}\n`);
  void fake.stop().then(() => process.exit(0));
});
