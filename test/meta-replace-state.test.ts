import { describe, expect, it } from 'vitest';
import { META_SCHEMA } from '../connectors/destinations/meta/normalize.ts';
import { parsePayload } from '../connectors/destinations/meta/upload.ts';
import { forgetCustomer, forgetHolders, markForgetRequestsSynced } from '../pipelines/ops/forget.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import {
  confirmedIds,
  expectedIds,
  externalId,
  type MetaTest,
  seedCustomers,
  setMembers,
  setupMetaEach,
} from './fakes/meta-graph-setup.ts';

/**
 * A Meta replace (--full-refresh: usersreplace) changes the audience only when its session's last batch arrives.
 * Until then Meta keeps the old members, and so must the records (destination_members): a forget request is not
 * done while Meta still holds the person, a resumed replace continues its own session, and a replace given up on
 * leaves everyone Meta may hold on record, so the next run removes whoever must leave. Asserted on what the Graph
 * fake holds, not only on the database.
 */

const setup = setupMetaEach();
const AUDIENCE = 'wishlisted';
const ids = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `c${String(from + i).padStart(6, '0')}`);

interface ReplaceTest {
  t: MetaTest;
  /** Replace batches from this batch_seq on fail at Meta (HTTP 500 on every attempt) while it is set. */
  failFrom: { seq?: number };
  /** The customers the Meta audience holds (the fake keys members by the EXTERN_ID sent, mapped back). */
  held(): string[];
  /** Times Meta received a customer in an add or replace it applied. */
  received(customerId: string): number | undefined;
}

/** Ten consented members synced to Meta by an ordinary first sync. */
async function replaceTest(): Promise<ReplaceTest> {
  const failFrom: { seq?: number } = {};
  let t: MetaTest | undefined;
  t = await setup({
    config: { batchSize: 3 },
    fake: {
      beforeUpload: ({ kind, batchSeq }) => {
        if (kind === 'replace' && failFrom.seq !== undefined && batchSeq >= failFrom.seq)
          t!.fake.inject({ kind: 'server', on: 'replace' });
      },
    },
  });
  await seedCustomers(t.wh, 10);
  await setMembers(t.wh, AUDIENCE, 'true');
  expect(await t.runOne(AUDIENCE)).toMatchObject({ status: 'synced', adds: 10 });
  const id = await externalId(t.wh, AUDIENCE);
  const rows = await t.wh.all<{ customer_id: string; payload: string }>(
    "SELECT customer_id, payload FROM destination_members WHERE destination = 'meta'",
  );
  const keyOf = new Map<string, string>();
  const customerOf = new Map<string, string>();
  for (const r of rows) {
    const values = parsePayload(r.payload, r.customer_id);
    const key = values[META_SCHEMA.indexOf('EXTERN_ID')] || values.find((v) => v !== '')!;
    keyOf.set(r.customer_id, key);
    customerOf.set(key, r.customer_id);
  }
  return {
    t,
    failFrom,
    held: () =>
      t.fake
        .memberKeys(id)
        .map((k) => customerOf.get(k) ?? k)
        .sort(),
    received: (c) => t.fake.addCounts.get(keyOf.get(c)!),
  };
}

async function forgetPending(wh: Warehouse): Promise<number> {
  await markForgetRequestsSynced(wh); // what every run does once its destinations are synced
  return wh.scalar('SELECT count(*) FROM forget_requests WHERE synced_at IS NULL');
}

/** Moves past Meta's 90-minute session window: the fake's clock and the sessions we recorded. */
async function twoHoursLater(t: MetaTest): Promise<void> {
  t.fake.now = () => Date.now() + 2 * 3600_000;
  await t.wh.run('UPDATE meta_sync_batches SET session_started_at = session_started_at - INTERVAL 2 HOUR');
}

describe('Meta replace sessions: the records follow what Meta holds', () => {
  it('a replace whose later batch fails keeps the old members on record; the next run resumes its session', async () => {
    const { t, failFrom, held, received } = await replaceTest();
    await forgetCustomer(t.wh, 'c000009'); // forgotten the same night as a full refresh
    failFrom.seq = 2;

    const failed = await t.runOne(AUDIENCE, { fullRefresh: true });
    expect(failed.status).toBe('failed');
    const replaceBatches = t.fake.uploads.filter((u) => u.kind === 'replace');
    expect(replaceBatches[0]).toMatchObject({ batchSeq: 1, status: 200, rows: 3 });
    const session = replaceBatches[0]!.sessionId;
    // Meta applies a replace at its last batch only: it still holds everyone, the forgotten person included.
    expect(held()).toEqual(ids(1, 10));
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual(held());
    expect(await forgetPending(t.wh)).toBe(1);
    expect((await forgetHolders(t.wh)).map((h) => h.destination)).toEqual(['meta']);

    // The next (ordinary) run continues the same session after its acknowledged batch: nothing is sent twice.
    failFrom.seq = undefined;
    const before = t.fake.uploads.length;
    const resumed = await t.runOne(AUDIENCE);
    expect(resumed).toMatchObject({ status: 'synced', adds: 6, removes: 0, size: 9 });
    expect(
      t.fake.uploads.slice(before).map((u) => [u.kind, u.sessionId, u.batchSeq, u.last, u.status]),
    ).toEqual([
      ['replace', session, 2, false, 200],
      ['replace', session, 3, true, 200],
    ]);
    const desired = await expectedIds(t.wh, AUDIENCE);
    expect(desired).toEqual(ids(1, 10).filter((c) => c !== 'c000009'));
    expect(held()).toEqual(desired);
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual(desired);
    // Each member reached Meta once by the first sync and once by the replace session; c000009 only by the first.
    for (const c of desired) expect(received(c), c).toBe(2);
    expect(received('c000009')).toBe(1);
    expect(await forgetPending(t.wh)).toBe(0);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_replace_rows')).toBe(0);

    expect(await t.runOne(AUDIENCE)).toMatchObject({ status: 'unchanged', requests: 0 });
    expect(held()).toEqual(desired);
  });

  it('a replace interrupted, after which everyone withdraws: the Meta audience ends empty', async () => {
    const { t, failFrom, held } = await replaceTest();
    failFrom.seq = 2;
    expect((await t.runOne(AUDIENCE, { fullRefresh: true })).status).toBe('failed');
    failFrom.seq = undefined;
    await forgetCustomer(t.wh, 'c000008');
    await t.wh.run('UPDATE customers SET ads_consent = false');

    // Within Meta's window the session is still open (no /users call is allowed) and has nothing left to send:
    // the audience waits, and everyone Meta holds stays on record.
    const waiting = await t.runOne(AUDIENCE);
    expect(waiting.status).toBe('failed');
    expect(waiting.message).toContain('retry later');
    expect(held()).toEqual(ids(1, 10));
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual(ids(1, 10));
    expect(await forgetPending(t.wh)).toBe(1);

    // Once Meta timed the session out, the run removes everyone Meta may hold; privacy removals are never held.
    await twoHoursLater(t);
    const before = t.fake.uploads.length;
    const emptied = await t.runOne(AUDIENCE);
    expect(emptied).toMatchObject({ status: 'synced', adds: 0, removes: 10, size: 0 });
    expect(t.fake.uploads.slice(before).every((u) => u.kind === 'remove' && u.status === 200)).toBe(true);
    expect(held()).toEqual([]);
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual([]);
    expect(await forgetPending(t.wh)).toBe(0);

    expect(await t.runOne(AUDIENCE)).toMatchObject({ status: 'unchanged', requests: 0 });
    expect(held()).toEqual([]);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_replace_rows')).toBe(0);
  });

  it('a replace redone after a timeout that the shrink guard holds still removes whoever withdrew', async () => {
    const { t, failFrom, held } = await replaceTest();
    failFrom.seq = 2;
    expect((await t.runOne(AUDIENCE, { fullRefresh: true })).status).toBe('failed');
    failFrom.seq = undefined;
    await twoHoursLater(t);
    // A suspicious drop (10 -> 3: held) and one withdrawal by a member the session never re-sent.
    await setMembers(t.wh, AUDIENCE, "customer_id <= 'c000003' OR customer_id = 'c000007'");
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c000007'");

    const report = await t.runOne(AUDIENCE);
    expect(report.status).toBe('held');
    expect(report.message).toContain('1 privacy removal');
    expect(held()).toEqual(ids(1, 10).filter((c) => c !== 'c000007'));
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual(held());

    expect(await t.runOne(AUDIENCE, { force: true })).toMatchObject({
      status: 'synced',
      removes: 6,
      size: 3,
    });
    expect(held()).toEqual(ids(1, 3));
    expect(await confirmedIds(t.wh, AUDIENCE)).toEqual(ids(1, 3));
  });
});
