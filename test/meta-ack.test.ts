import { describe, expect, it } from 'vitest';
import { readAck } from '../connectors/destinations/meta/ack.ts';
import {
  confirmedIds,
  expectedIds,
  externalId,
  fastRetry,
  type MetaTest,
  metaKey,
  metaKeys,
  seedCustomers,
  setMembers,
  setupMetaEach,
} from './fakes/meta-graph-setup.ts';

/**
 * A batch is confirmed only when Meta acknowledged exactly that batch. An HTTP 200 carrying an HTML page, or a
 * num_received short of the rows sent, is a transient failure: retried, and never recorded as synced (else the
 * next run would send nothing and those members, or removals, would be lost for good).
 */

const setup = setupMetaEach();

const fewRetries = { ...fastRetry, retries: 2, maxRegainWaitMs: 0 };

async function syncStatuses(t: MetaTest, audience: string) {
  return t.wh.all<{ status: string; adds: bigint; removes: bigint; error: string | null }>(
    `SELECT status, adds, removes, error FROM destination_syncs WHERE audience = $1 ORDER BY started_at, rowid`,
    [audience],
  );
}

describe('Meta destination: only acknowledged batches are confirmed', () => {
  it('retries an HTML page, a zero count and a short count answered with HTTP 200', async () => {
    const t = await setup({ config: { batchSize: 10 } });
    await seedCustomers(t.wh, 25);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    t.fake.inject({ kind: 'html', on: 'add', status: 200 });
    t.fake.inject({ kind: 'ack', on: 'add', ack: { num_received: 0 } });
    t.fake.inject({ kind: 'ack', on: 'add', ack: { num_received: 9 } }); // 9 of the 10 rows sent
    const report = await t.runOne('cart_abandoners');
    expect(report).toMatchObject({ status: 'synced', adds: 25 });
    expect(t.fake.faultsServed.map((f) => f.kind)).toEqual(['html', 'ack', 'ack']);
    const id = await externalId(t.wh, 'cart_abandoners');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'cart_abandoners')));
    expect([...t.fake.addCounts.values()].every((n) => n === 1)).toBe(true);
    const why = t.logs.filter((l) => l.includes("Meta's answer does not acknowledge the batch"));
    expect(why.map((l) => l.replace(/.*acknowledge the batch: /, ''))).toEqual([
      'an HTML page, not a Graph answer',
      'num_received 0 counts 0 of the 10 rows sent',
      'num_received 9 counts 9 of the 10 rows sent',
    ]);
  });

  it('an add never acknowledged fails the audience, confirms none of it, and the next run sends it', async () => {
    const t = await setup({ config: { batchSize: 10, retry: fewRetries } });
    await seedCustomers(t.wh, 25);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    t.fake.inject({ kind: 'ack', on: 'add', ack: { num_received: 0 }, times: 3 });
    const failed = await t.runOne('cart_abandoners');
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(/does not acknowledge the batch: num_received 0 counts 0 of the 10 rows/);
    expect(await confirmedIds(t.wh, 'cart_abandoners')).toEqual([]);
    expect(await t.wh.scalar('SELECT count(*) FROM meta_sync_batches')).toBe(0);
    expect((await syncStatuses(t, 'cart_abandoners')).map((s) => [s.status, s.adds])).toEqual([
      ['failed', 0n],
    ]);

    const next = await t.runOne('cart_abandoners');
    expect(next).toMatchObject({ status: 'synced', adds: 25 });
    const id = await externalId(t.wh, 'cart_abandoners');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'cart_abandoners')));
    expect(metaKeys(await confirmedIds(t.wh, 'cart_abandoners'))).toEqual(t.fake.memberKeys(id));
  });

  it('a removal answered with an HTML page stays pending and is sent again by the next run', async () => {
    const t = await setup({ config: { retry: fewRetries } });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', 'true');
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    await setMembers(t.wh, 'wishlisted', "customer_id > 'c000002'");
    t.fake.inject({ kind: 'html', on: 'remove', status: 200, times: 3 });
    const failed = await t.runOne('wishlisted');
    expect(failed.status).toBe('failed');
    expect(failed.message).toContain('an HTML page, not a Graph answer');
    expect(await confirmedIds(t.wh, 'wishlisted')).toContain('c000001'); // still known to be on Meta
    expect(t.fake.memberKeys(id)).toContain(metaKey('c000001'));

    expect(await t.runOne('wishlisted')).toMatchObject({ status: 'synced', removes: 2 });
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
  });

  it('a replace whose batch is not acknowledged is not recorded: Meta and the records still agree', async () => {
    const t = await setup({ config: { retry: fewRetries } });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', "customer_id <= 'c000008'");
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    await setMembers(t.wh, 'wishlisted', 'true');
    t.fake.inject({ kind: 'ack', on: 'replace', ack: { num_received: 0 }, times: 3 });
    const failed = await t.runOne('wishlisted', { fullRefresh: true });
    expect(failed.status).toBe('failed');
    expect(await t.wh.scalar("SELECT count(*) FROM meta_sync_batches WHERE action = 'replace'")).toBe(0);
    expect(metaKeys(await confirmedIds(t.wh, 'wishlisted'))).toEqual(t.fake.memberKeys(id));

    expect(await t.runOne('wishlisted', { fullRefresh: true })).toMatchObject({ status: 'synced', adds: 10 });
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
  });

  it("accepts a count that leaves out the batch's reported invalid entries", async () => {
    const t = await setup({
      fake: {
        invalid: (row) =>
          row[0] === metaKey('c000002') || row[0] === metaKey('c000004') ? 'Invalid format' : undefined,
      },
    });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    t.fake.inject({ kind: 'ack', on: 'add', afterApply: true, ack: { num_received: 8 } });
    expect(await t.runOne('cart_abandoners')).toMatchObject({
      status: 'synced',
      adds: 10,
      invalidEntries: 2,
    });
    expect(t.fake.uploads).toHaveLength(1); // accepted at once, not retried
  });
});

describe('readAck', () => {
  const sent = { audienceId: '42', sessionId: 7, rows: 10, receivedBefore: 20 };
  const answer = { audience_id: '42', session_id: '7', num_received: 30, num_invalid_entries: 0 };

  it('reads the documented answer, counts given as numbers or numeric strings', () => {
    expect(readAck(answer, sent)).toEqual({ ack: { ...answer, invalid_entry_samples: undefined } });
    expect(readAck({ ...answer, num_received: '30', session_id: 7 }, sent)).toMatchObject({
      ack: { num_received: 30, session_id: '7' },
    });
  });

  it('names what is wrong with anything else', () => {
    const problem = (body: unknown) => (readAck(body, sent) as { problem?: string }).problem;
    expect(problem('<!DOCTYPE html><html>OK</html>')).toBe('an HTML page, not a Graph answer');
    expect(problem('OK')).toBe('text, not a Graph answer');
    expect(problem([answer])).toBe('not a Graph answer');
    expect(problem({ success: true })).toBe('no num_received in the answer');
    expect(problem({ ...answer, session_id: '8' })).toBe('an answer for session 8, not 7');
    expect(problem({ ...answer, audience_id: '43' })).toBe('an answer for audience 43, not 42');
    expect(problem({ ...answer, num_received: 20 })).toBe('num_received 20 counts 0 of the 10 rows sent');
    expect(problem({ ...answer, num_received: 27, num_invalid_entries: 2 })).toBe(
      'num_received 27 counts 7 of the 10 rows sent (2 invalid)',
    );
    expect(problem({ ...answer, num_invalid_entries: 11 })).toBe('an unreadable num_invalid_entries');
  });
});
