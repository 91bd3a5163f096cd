import { type FakeNode, FakeShopifyServer } from './shopify-server.ts';

/**
 * The fake Shopify Admin API in its own process, serving a generated store of N orders (2 or 3 line items each,
 * generated while the result streams, never held in memory) with Shopify's documented Standard-plan bucket
 * (2,000 points, 100 restored per second), for bench/stores-shopify.ts.
 * Usage: node bin/run-ts.mjs test/fakes/shopify-child.ts <orders>   (prints "ready <url> <token>")
 */

const orders = Number(process.argv[2] ?? 100_000);
const TOKEN = 'shpat_bench_0123456789abcdef';
const START = Date.parse('2024-11-20T00:00:00Z');

function* generate(): Generator<FakeNode> {
  for (let o = 1; o <= orders; o++) {
    const at = new Date(START + o * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const lines = 2 + (o % 2);
    yield {
      id: `gid://shopify/Order/${o}`,
      email: `buyer${o % 400_000}@example.com`,
      createdAt: at,
      updatedAt: at,
      cancelledAt: o % 20 === 0 ? at : null,
      displayFinancialStatus: o % 33 === 0 ? 'REFUNDED' : 'PAID',
      customer: o % 10 === 0 ? null : { id: `gid://shopify/Customer/${o % 400_000}` },
      totalPriceSet: { shopMoney: { amount: `${(o % 200) + 10}.00`, currencyCode: 'EUR' } },
      billingAddress: null,
      lineItems: Array.from({ length: lines }, (_, k) => ({
        id: `gid://shopify/LineItem/${o * 10 + k}`,
        quantity: 1 + (k % 2),
        product: { id: `gid://shopify/Product/${(o * 7 + k * 13) % 50_000}` },
        originalUnitPriceSet: { shopMoney: { amount: `${(o + k) % 90}.50`, currencyCode: 'EUR' } },
      })),
    };
  }
}

const fake = new FakeShopifyServer({
  token: TOKEN,
  data: { orders: generate, customers: [], products: [], abandonedCheckouts: [] },
  maximumAvailable: 2000,
  restoreRate: 100,
  runningPolls: 1,
});
const url = await fake.start();
process.stdout.write(`ready ${url} ${TOKEN}\n`);
process.on('SIGTERM', async () => {
  process.stdout.write(`${JSON.stringify(fake.stats, (k, v) => (k === 'bulkQueries' ? v.length : v))}\n`);
  await fake.close();
  process.exit(0);
});
