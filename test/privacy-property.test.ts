import { copyFileSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.ts';
import { createCsvDestination } from '../connectors/destinations/csv/csv-destination.ts';
import { createMetaDestination } from '../connectors/destinations/meta/destination.ts';
import { forgetCustomer } from '../pipelines/ops/forget.ts';
import { runPipeline } from '../pipelines/run.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { FakeMetaGraph } from './fakes/meta-graph.ts';
import { metaKey } from './fakes/meta-graph-setup.ts';
import { type Sandbox, sandbox, startCli, withDb } from './ops-helpers.ts';

/**
 * The privacy property (docs/privacy.md): for random sequences of customer exports (newer, older, late, duplicated
 * by a touch or an undated copy), unreadable consent values, forget requests, killed runs and runs, after every run
 * that completes:
 *   - no destination (CSV files, the Meta fake, destination_members) holds a customer without current consent;
 *   - no destination holds a forgotten customer, and no table holds any of their raw data.
 * "Current consent" is the model's: the record of the newest export time wins; at equal times a "no" wins; a value
 * that cannot be read is a "no"; a forgotten person never comes back.
 */

const IDS = ['kx01', 'kx02', 'kx03', 'kx04', 'kx05', 'kx06'];
const email = (id: string) => `${id}@example.com`;
const TOKEN = 'EAAprivacyTOKEN0123456789';
const ACCOUNT = '99887766';
const SEED = Number(process.env.RETARGET_PROPERTY_SEED ?? 20261126);
const RUNS = Number(process.env.RETARGET_PROPERTY_RUNS ?? 6);

type Consent = 'yes' | 'no' | 'withdrawn';
type Action =
  | { kind: 'export'; day: number; hour: number; rows: Array<[number, Consent]> }
  | { kind: 'touch'; pick: number }
  | { kind: 'copy'; pick: number }
  | { kind: 'forget'; who: number; byEmail: boolean }
  | { kind: 'kill'; point: string }
  | { kind: 'run' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('export' as const),
      day: fc.integer({ min: 2, max: 28 }),
      hour: fc.integer({ min: 0, max: 2 }),
      rows: fc.uniqueArray(
        fc.tuple(
          fc.integer({ min: 0, max: IDS.length - 1 }),
          fc.constantFrom<Consent>('yes', 'no', 'withdrawn'),
        ),
        { minLength: 1, maxLength: IDS.length, selector: (r) => r[0] },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('touch' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('copy' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('forget' as const),
      who: fc.integer({ min: 0, max: IDS.length - 1 }),
      byEmail: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('kill' as const),
      point: fc.constantFrom('commit:customers', 'step:audiences:store', 'step:sync:csv', 'step:sync:meta'),
    }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: 'run' as const }) },
);

/** What the store has told us, and what consent therefore is now. */
class Model {
  private readonly latest = new Map<string, { at: number; consent: boolean }>();
  readonly forgotten = new Set<string>();

  record(id: string, at: number, consent: boolean): void {
    const now = this.latest.get(id);
    if (!now || at > now.at) this.latest.set(id, { at, consent });
    else if (at === now.at) this.latest.set(id, { at, consent: now.consent && consent });
  }

  consented(id: string): boolean {
    return !this.forgotten.has(id) && (this.latest.get(id)?.consent ?? false);
  }
}

/** One sequence: a fresh store, database, audience folder and Meta account. */
class World {
  readonly model = new Model();
  readonly files: string[] = [];
  private copies = 0;
  private clock = Date.now();

  constructor(
    readonly s: Sandbox,
    readonly fake: FakeMetaGraph,
    readonly graphUrl: string,
  ) {}

  /** Every customer has one completed order, so the sandbox's `buyers` audience is everyone loaded. */
  writeBaseStore(): void {
    const store = this.s.store;
    writeFileSync(join(store, 'products.csv'), 'product_id,name,category,price\np1,Mug,Kitchen,10\n');
    writeFileSync(
      join(store, 'orders.csv'),
      `order_id,customer_id,ordered_at,status\n${IDS.map((id) => `o-${id},${id},2026-10-01,completed`).join('\n')}\n`,
    );
    writeFileSync(
      join(store, 'order_items.csv'),
      `order_id,product_id,quantity,unit_price\n${IDS.map((id) => `o-${id},p1,1,10`).join('\n')}\n`,
    );
    this.files.push(join(store, 'orders.csv'));
  }

  export(day: number, hour: number, rows: Array<[number, Consent]>): void {
    const dir = join(this.s.store, 'customers');
    mkdirSync(dir, { recursive: true });
    const stamp = `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}00`;
    const path = join(dir, `customers_${stamp}_v${this.files.length}.csv`);
    const lines = rows.map(
      ([i, c]) => `${IDS[i]},${email(IDS[i]!)},${c === 'yes' ? 'true' : c === 'no' ? 'false' : c}`,
    );
    writeFileSync(
      path,
      `customer_id,email,first_name,country,ads_consent\n${lines.map(addName).join('\n')}\n`,
    );
    this.files.push(path);
    for (const [i, c] of rows) this.model.record(IDS[i]!, day * 24 + hour, c === 'yes');
  }

  /** A re-read of an old file: same name and bytes, a new modification time. */
  touch(pick: number): void {
    const path = this.files[pick % this.files.length];
    if (!path) return;
    this.clock += 60_000;
    utimesSync(path, new Date(this.clock), new Date(this.clock));
  }

  /** An old export restored under a name without a date: only its modification time says when it is from. */
  copy(pick: number): void {
    const exports = this.files.filter((f) => f.includes('customers_'));
    const path = exports[pick % Math.max(exports.length, 1)];
    if (!path) return;
    copyFileSync(path, join(this.s.store, 'customers', `restored-${++this.copies}.csv`));
  }

  async forget(id: string, byEmail: boolean): Promise<void> {
    const wh = await Warehouse.open({ path: this.s.db });
    try {
      await forgetCustomer(wh, byEmail ? email(id) : id);
    } finally {
      wh.close();
    }
    this.model.forgotten.add(id);
  }

  async run(): Promise<void> {
    const summary = await runPipeline({
      config: await loadConfig(this.s.config),
      alerts: false,
      destinations: [
        createCsvDestination({ dir: this.s.audiences }),
        createMetaDestination({ accessToken: TOKEN, adAccountId: `act_${ACCOUNT}`, graphUrl: this.graphUrl }),
      ],
    });
    expect(summary.status, JSON.stringify(summary.error)).toBe('succeeded');
    await this.check();
  }

  /** A run SIGKILLed at a point where it may have committed part of what it learned. */
  async kill(point: string): Promise<void> {
    const child = startCli(['--config', this.s.config, 'run'], {
      RETARGET_TEST_HOLD_AT: point,
      META_ACCESS_TOKEN: TOKEN,
      META_AD_ACCOUNT_ID: ACCOUNT,
      META_GRAPH_URL: this.graphUrl,
    });
    await Promise.race([child.waitFor(/holding at/, 120_000), child.done]);
    child.child.kill('SIGKILL');
    await child.done;
  }

  /** The property, after a completed run. */
  private async check(): Promise<void> {
    const allowed = IDS.filter((id) => this.model.consented(id));
    for (const id of this.csvMembers()) expect(allowed, `${id} in an audience file`).toContain(id);
    // Meta holds members by EXTERN_ID = metaKey(customer_id); a key matching no allowed id (a raw id too) fails.
    const allowedKeys = allowed.map(metaKey);
    const named = new Map(IDS.map((id) => [metaKey(id), id]));
    for (const a of [...this.fake.audiences.values()].filter((x) => !x.deleted))
      for (const key of a.members.keys())
        expect(allowedKeys, `${named.get(key) ?? key} on Meta (${a.name})`).toContain(key);
    await withDb(this.s.db, async (wh) => {
      const held = await wh.all<{ customer_id: string }>(
        'SELECT DISTINCT customer_id FROM destination_members',
      );
      for (const { customer_id } of held)
        expect(allowed, `${customer_id} in destination_members`).toContain(customer_id);
      for (const id of this.model.forgotten) expect(await rawTraces(wh, id), `raw data of ${id}`).toEqual([]);
    });
  }

  private csvMembers(): string[] {
    return readdirSync(this.s.audiences)
      .filter((f) => f.endsWith('.csv'))
      .flatMap((f) =>
        readFileSync(join(this.s.audiences, f), 'utf8')
          .split('\n')
          .slice(1)
          .flatMap((line) => /^"?([^",]+)/.exec(line)?.[1] ?? []),
      );
  }
}

function addName(line: string): string {
  const [id, mail, consent] = line.split(',');
  return `${id},${mail},Name ${id},US,${consent}`;
}

/** Every table and text column still holding the person's id or email (empty after an erasure). */
async function rawTraces(wh: Warehouse, id: string): Promise<string[]> {
  const columns = await wh.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'main' AND (data_type = 'VARCHAR' OR data_type = 'JSON')`,
  );
  const found: string[] = [];
  for (const { table_name, column_name } of columns) {
    const n = await wh.scalar(
      `SELECT count(*) FROM "${table_name}" WHERE contains(lower(CAST("${column_name}" AS VARCHAR)), $1)`,
      [id],
    );
    if (n > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}

let fake: FakeMetaGraph;
let graphUrl: string;
beforeAll(async () => {
  fake = new FakeMetaGraph({ token: TOKEN, accountId: ACCOUNT });
  graphUrl = await fake.start();
});
afterAll(() => fake.stop());

describe('consent and erasure always win (property)', () => {
  it('no run puts a person without current consent, or a forgotten person, into a destination', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 9 }), async (actions) => {
        const s = sandbox();
        for (const a of fake.audiences.values()) a.deleted = true; // a fresh Meta account per sequence
        const world = new World(s, fake, graphUrl);
        try {
          world.writeBaseStore();
          world.export(
            1,
            0,
            IDS.map((_, i) => [i, 'yes']),
          );
          await world.run();
          sent += [...fake.audiences.values()]
            .filter((a) => !a.deleted)
            .reduce((n, a) => n + a.members.size, 0);
          for (const a of actions) await step(world, a);
          await world.run();
        } finally {
          s.cleanup();
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Not vacuous: the first run of each sequence put everyone on Meta.
    expect(sent).toBe(RUNS * IDS.length);
  }, 600_000);
});

async function step(world: World, a: Action): Promise<void> {
  switch (a.kind) {
    case 'export':
      return world.export(a.day, a.hour, a.rows);
    case 'touch':
      return world.touch(a.pick);
    case 'copy':
      return world.copy(a.pick);
    case 'forget':
      return world.forget(IDS[a.who]!, a.byEmail);
    case 'kill':
      return world.kill(a.point);
    case 'run':
      return world.run();
  }
}
