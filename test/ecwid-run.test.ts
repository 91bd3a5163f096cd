import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EcwidConfig, ecwidConfig } from '../connectors/sources/ecwid/config.ts';
import { pullEcwid } from '../connectors/sources/ecwid/pull.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { makeStore, type StoreModel, toEcwid, writeStoreCsv } from './fakes/ecwid-data.ts';
import { FakeEcwidServer } from './fakes/ecwid-server.ts';
import { cli, ROOT, type Sandbox, sandbox, startCli, withDb, writeConfig } from './ops-helpers.ts';

/**
 * `retarget run --sources ecwid` as a user runs it (the real CLI in a child process) against the local Ecwid
 * API: a run killed mid-pull resumes with nothing lost or doubled, and the audiences of the shipped segments on
 * pulled data equal those on the same store exported as CSV files.
 */

const NOW = Math.floor(Date.parse('2026-11-20T12:00:00Z') / 1000);
const AS_OF = '2026-11-20T12:00:00Z';

let fake: FakeEcwidServer;
let model: StoreModel;
const boxes: Sandbox[] = [];

beforeEach(async () => {
  model = makeStore({ customers: 40, guests: 15, orders: 300, carts: 60, now: NOW });
  fake = await new FakeEcwidServer({ data: toEcwid(model) }).start();
});
afterEach(async () => {
  await fake.stop();
  for (const b of boxes.splice(0)) b.cleanup();
});

function box(ecwid: Record<string, unknown> = {}): Sandbox {
  const s = sandbox();
  writeConfig(s, {
    sources: { files: { dir: s.store }, ecwid: { retryBaseMs: 1, ...ecwid } },
    segments: { dir: join(ROOT, 'segments') },
  });
  boxes.push(s);
  return s;
}

const env = () => ({ ECWID_STORE_ID: fake.storeId, ECWID_TOKEN: fake.token, ECWID_API_URL: fake.url });

const members = (db: string) =>
  withDb(db, (wh) => wh.json('SELECT audience, customer_id FROM audience_members ORDER BY 1, 2'));

const tables = (db: string) =>
  withDb(db, async (wh) => ({
    customers: await wh.json('SELECT customer_id, email, ads_consent FROM customers ORDER BY 1'),
    // The data, not which load wrote it (the two databases ran different numbers of loads, at other times).
    orders: await wh.json('SELECT * EXCLUDE (load_seq, exported_at) FROM orders ORDER BY 1'),
    items: await wh.json('SELECT * EXCLUDE (load_seq, exported_at) FROM order_items ORDER BY 1, 2'),
    events: await wh.json('SELECT event_id, customer_id, product_id, occurred_at FROM events ORDER BY 1'),
  }));

describe('retarget run --sources ecwid', () => {
  it('pulls the store, shows rows per object, and keeps the token out of its output', async () => {
    const s = box();
    const r = await cli(['--config', s.config, 'run', '--sources', 'ecwid', '--as-of', AS_OF], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/orders\s+0\s+0\s+300\s+300\s+0/);
    expect(r.stdout).toMatch(/order_items \(ecwid orders\)/);
    expect(r.stdout).toMatch(/events \(ecwid carts\)/);
    expect(r.stdout + r.stderr).not.toContain(fake.token);
    const runs = await cli(['--config', s.config, 'runs', 'last'], env());
    expect(runs.stdout).toMatch(/load:ecwid\s+succeeded/);
    // Rows per object and table, as the run printed them.
    expect(runs.stdout).toMatch(/load:ecwid\s+orders\s+300\s+300\s+0/);
    expect(runs.stdout).toMatch(/load:ecwid\s+events \(ecwid carts\)/);
  });

  it('a run killed mid-pull (SIGKILL) resumes: nothing lost, nothing doubled', async () => {
    const s = box({ pagesPerCommit: 1 });
    const tmp = join(s.dir, 'tmp');
    mkdirSync(tmp);
    const run = startCli(['--config', s.config, 'run', '--sources', 'ecwid', '--as-of', AS_OF], {
      ...env(),
      TMPDIR: tmp,
      RETARGET_TEST_HOLD_AT: 'commit:ecwid/orders/2',
    });
    await run.waitFor(/holding at commit:ecwid\/orders\/2/, 60_000);
    run.child.kill('SIGKILL');
    await run.done;
    const partial = await withDb(s.db, (wh) => wh.scalar('SELECT count(*) FROM orders'));
    expect(partial).toBe(100);
    // The killed run left its pages (customer data) beside the database, not in the system temp folder.
    const pages = join(dirname(s.db), `.${basename(s.db)}.ecwid-pages`);
    expect(readdirSync(pages).filter((f) => f.startsWith('orders-')).length).toBeGreaterThan(0);
    expect(readdirSync(tmp).filter((f) => f.startsWith('retarget-'))).toEqual([]);
    // Nothing the killed run left is read again: a leftover that is not a page would fail the next run.
    for (const f of readdirSync(pages)) writeFileSync(join(pages, f), 'not a page\n');
    const again = await cli(['--config', s.config, 'run', '--sources', 'ecwid', '--as-of', AS_OF], env());
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(pages)).toBe(false);
    // The same store pulled in one go.
    const fresh = join(s.dir, 'fresh.duckdb');
    const wh = await Warehouse.open({ path: fresh });
    const config = ecwidConfig({}, env()) as EcwidConfig;
    await pullEcwid(wh, config, { runId: 'x', now: new Date(), log: () => {}, checkpoint: async () => {} });
    wh.close();
    expect(await tables(s.db)).toEqual(await tables(fresh));
  }, 120_000);

  it('gives the same audiences as the same store loaded from CSV files', async () => {
    const pulled = box();
    const r = await cli(['--config', pulled.config, 'run', '--sources', 'ecwid', '--as-of', AS_OF], env());
    expect(r.code, r.stderr).toBe(0);
    const files = box();
    mkdirSync(files.store, { recursive: true });
    writeStoreCsv(model, files.store);
    const f = await cli(['--config', files.config, 'run', '--sources', 'files', '--as-of', AS_OF]);
    expect(f.code, f.stderr).toBe(0);
    const a = await members(pulled.db);
    expect(a.length).toBeGreaterThan(20);
    expect(new Set(a.map((m) => (m as { audience: string }).audience)).size).toBeGreaterThan(2);
    expect(a).toEqual(await members(files.db));
  }, 120_000);
});
