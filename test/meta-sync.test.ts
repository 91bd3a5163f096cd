import { FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import { describe, expect, it } from 'vitest';
import { GRAPH_VERSION_BYTES } from '../connectors/destinations/meta/batches.ts';
import { metaConfigFromEnv } from '../connectors/destinations/meta/config.ts';
import { forgetMetaAudience } from '../connectors/destinations/meta/destination.ts';
import {
  confirmedIds,
  expectedIds,
  externalId,
  metaKey,
  metaKeys,
  seedCustomers,
  setMembers,
  setupMetaEach,
} from './fakes/meta-graph-setup.ts';

const setup = setupMetaEach();

describe('Meta destination: syncing audiences', () => {
  it('first sync creates the Custom Audience and uploads consented members in 10,000-row batches of one session', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 21_050);
    // 50 customers without consent, one member with no customers row, one with no usable identifier.
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id > 'c021000'");
    await t.wh.run(
      "INSERT INTO customers (customer_id, email, country, ads_consent) VALUES ('x-nobody', 'not-an-email', 'US', true)",
    );
    await setMembers(t.wh, 'cart_abandoners', 'true');
    await t.wh.run(
      "INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes) VALUES ('cart_abandoners', 'test_segment', 'ghost', TIMESTAMP '2026-01-01', NULL)",
    );

    const report = await t.runOne('cart_abandoners');
    expect(report).toMatchObject({
      status: 'synced',
      adds: 21_000,
      removes: 0,
      size: 21_000,
      unmatchable: 1,
    });
    expect(report.requests).toBe(1 + 3); // create + ceil(21,000 / 10,000)

    const id = await externalId(t.wh, 'cart_abandoners');
    const audience = t.fake.audience(id)!;
    expect(audience.name).toMatch(/^retarget: cart_abandoners \[[0-9a-f]{10}\]$/); // keyed by database and audience
    expect(audience).toMatchObject({
      subtype: 'CUSTOM',
      customerFileSource: 'USER_PROVIDED_ONLY',
    });
    expect(audience.description).toContain('test_segment');
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'cart_abandoners')));
    expect(t.fake.memberKeys(id)).toHaveLength(21_000);

    const uploads = t.fake.uploads;
    expect(uploads.map((u) => [u.kind, u.batchSeq, u.rows, u.last, u.status])).toEqual([
      ['add', 1, 10_000, false, 200],
      ['add', 2, 10_000, false, 200],
      ['add', 3, 1_000, true, 200],
    ]);
    expect(new Set(uploads.map((u) => u.sessionId)).size).toBe(1);
    expect(metaKeys(await confirmedIds(t.wh, 'cart_abandoners'))).toEqual(t.fake.memberKeys(id));

    const syncs = await t.wh.all(
      "SELECT adds, removes, invalid_entries, status FROM destination_syncs WHERE destination = 'meta'",
    );
    expect(syncs).toEqual([{ adds: 21_000n, removes: 0n, invalid_entries: 0n, status: 'synced' }]);
    const state = await t.wh.one(
      "SELECT last_synced_size, status FROM destination_audiences WHERE audience = 'cart_abandoners'",
    );
    expect(state).toEqual({ last_synced_size: 21_000n, status: 'active' });

    // Nothing changed: no request at all.
    const again = await t.runOne('cart_abandoners');
    expect(again).toMatchObject({ status: 'unchanged', adds: 0, removes: 0, requests: 0 });
    expect(t.fake.uploads).toHaveLength(3);
  });

  it('sends only the diff: removes (before adds) and adds, a changed email as remove + add', async () => {
    const t = await setup({ config: { batchSize: 40 } });
    await seedCustomers(t.wh, 200);
    await setMembers(t.wh, 'wishlisted', "customer_id <= 'c000100'");
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    const before = t.fake.uploads.length;

    // 10 leave, 50 join, one changes email.
    await setMembers(t.wh, 'wishlisted', "customer_id > 'c000010' AND customer_id <= 'c000150'");
    await t.wh.run("UPDATE customers SET email = 'new.address@example.com' WHERE customer_id = 'c000050'");
    const report = await t.runOne('wishlisted');
    expect(report).toMatchObject({ status: 'synced', adds: 51, removes: 11, size: 140 });
    const uploads = t.fake.uploads.slice(before);
    expect(uploads.map((u) => [u.method, u.batchSeq, u.rows, u.last])).toEqual([
      ['DELETE', 1, 11, true],
      ['POST', 1, 40, false],
      ['POST', 2, 11, true],
    ]);
    expect(report.requests).toBe(Math.ceil(51 / 40) + 1);
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
    expect(t.fake.audience(id)!.members.get(metaKey('c000050'))![1]).toBe(
      (await t.wh.one<{ h: string }>("SELECT sha256('new.address@example.com') AS h"))!.h,
    );
    expect(await confirmedIds(t.wh, 'wishlisted')).toEqual(await expectedIds(t.wh, 'wishlisted'));
  });

  it('removes customers who revoked consent or were deleted, using the payload kept from the last sync', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 30);
    await setMembers(t.wh, 'one_time_buyers', 'true');
    await t.runOne('one_time_buyers');
    const id = await externalId(t.wh, 'one_time_buyers');
    expect(t.fake.memberKeys(id)).toEqual(expect.arrayContaining([metaKey('c000001'), metaKey('c000003')]));

    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id IN ('c000001', 'c000002')");
    await t.wh.run("DELETE FROM customers WHERE customer_id = 'c000003'"); // raw PII gone entirely
    const report = await t.runOne('one_time_buyers');
    expect(report).toMatchObject({ status: 'synced', adds: 0, removes: 3, size: 27 });
    expect(t.fake.memberKeys(id)).not.toContain(metaKey('c000001'));
    expect(t.fake.memberKeys(id)).not.toContain(metaKey('c000003'));
    expect(t.fake.memberKeys(id)).toHaveLength(27);
    const del = t.fake.uploads.at(-1)!;
    expect(del).toMatchObject({ method: 'DELETE', rows: 3, last: true });
  });

  it('splits DELETE requests by URL size, since the SDK puts their payload in the query string', async () => {
    const maxUrlBytes = 12_000;
    const t = await setup({ fake: { maxUrlBytes }, config: { maxUrlBytes } });
    await seedCustomers(t.wh, 200);
    await setMembers(t.wh, 'passive_past_buyers', 'true');
    await t.runOne('passive_past_buyers');
    const id = await externalId(t.wh, 'passive_past_buyers');
    await setMembers(t.wh, 'passive_past_buyers', "customer_id > 'c000120'");

    const dry = await t.runOne('passive_past_buyers', { dryRun: true, force: true });
    const report = await t.runOne('passive_past_buyers', { force: true });
    expect(report).toMatchObject({ status: 'synced', removes: 120 });
    const deletes = t.fake.uploads.filter((u) => u.method === 'DELETE');
    expect(deletes.length).toBeGreaterThan(1);
    expect(deletes.every((u) => u.status === 200 && u.urlBytes <= maxUrlBytes)).toBe(true);
    // Batches are sized with a bound on the Graph version in the path, not the SDK's own: it must hold.
    expect(FacebookAdsApi.VERSION.length).toBeLessThanOrEqual(GRAPH_VERSION_BYTES);
    expect(deletes.map((u) => u.batchSeq)).toEqual(deletes.map((_, i) => i + 1));
    expect(deletes.map((u) => u.last)).toEqual(deletes.map((_, i) => i === deletes.length - 1));
    expect(deletes.reduce((n, u) => n + u.rows, 0)).toBe(120);
    expect(report.requests).toBe(deletes.length);
    expect(dry.requests).toBe(deletes.length); // the dry run plans the same number of calls
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'passive_past_buyers')));
  });

  it('packs DELETE requests across plan pages: only the last request of the whole removal is partly full', async () => {
    const maxUrlBytes = 12_000;
    // Pages of 50 plan rows, while only about 30 rows fit in a URL: cutting each page on its own would leave a
    // half-empty request behind every page (30 + 20 per page).
    const t = await setup({ fake: { maxUrlBytes }, config: { maxUrlBytes, batchSize: 50 } });
    await seedCustomers(t.wh, 200);
    await setMembers(t.wh, 'passive_past_buyers', 'true');
    await t.runOne('passive_past_buyers');
    await setMembers(t.wh, 'passive_past_buyers', "customer_id > 'c000150'");
    const report = await t.runOne('passive_past_buyers', { force: true });
    expect(report).toMatchObject({ status: 'synced', removes: 150 });
    const rows = t.fake.uploads.filter((u) => u.method === 'DELETE').map((u) => u.rows);
    const perUrl = rows[0]!;
    expect(perUrl).toBeLessThan(50);
    expect(rows.slice(0, -1).every((n) => n === perUrl)).toBe(true);
    expect(rows).toHaveLength(Math.ceil(150 / perUrl));
  });

  it('--full-refresh replaces the whole membership with /usersreplace', async () => {
    const t = await setup({ config: { batchSize: 30 } });
    await seedCustomers(t.wh, 100);
    await setMembers(t.wh, 'category_browsers:shoes', "customer_id <= 'c000080'");
    await t.runOne('category_browsers:shoes');
    const id = await externalId(t.wh, 'category_browsers:shoes');
    // Meta drifted from what we think it holds (e.g. someone edited the list by hand).
    const members = t.fake.audience(id)!.members;
    members.set('stray', ['stray']);
    expect(members.delete(metaKey('c000007'))).toBe(true); // a member Meta really held
    expect(members.size).toBe(80);
    expect(t.fake.memberKeys(id)).not.toContain(metaKey('c000007'));
    await setMembers(t.wh, 'category_browsers:shoes', "customer_id > 'c000010'");
    const before = t.fake.uploads.length;

    const report = await t.runOne('category_browsers:shoes', { fullRefresh: true });
    expect(report).toMatchObject({ status: 'synced', adds: 90, removes: 0, size: 90, requests: 3 });
    const uploads = t.fake.uploads.slice(before);
    expect(uploads.map((u) => [u.kind, u.batchSeq, u.last])).toEqual([
      ['replace', 1, false],
      ['replace', 2, false],
      ['replace', 3, true],
    ]);
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'category_browsers:shoes')));
    expect(metaKeys(await confirmedIds(t.wh, 'category_browsers:shoes'))).toEqual(t.fake.memberKeys(id));
  });

  it('redoes a replace that was interrupted longer ago than Meta keeps sessions open', async () => {
    const t = await setup({ config: { batchSize: 20 } });
    await seedCustomers(t.wh, 30);
    await setMembers(t.wh, 'wishlisted', 'true');
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    // A replace that died after its first batch two hours ago: Meta has timed it out; what it holds is unknown.
    await t.wh.run(
      `INSERT INTO meta_sync_batches (run_id, audience, external_id, action, session_id, batch_seq, last_batch, rows_sent,
         num_invalid_entries, session_started_at, acknowledged_at)
       VALUES ('old', 'wishlisted', $1, 'replace', 4242, 1, false, 20, 0, now()::TIMESTAMP - INTERVAL 2 HOUR,
         now()::TIMESTAMP - INTERVAL 2 HOUR)`,
      [id],
    );
    expect(t.fake.audience(id)!.members.delete(metaKey('c000003'))).toBe(true); // a member Meta really held
    expect(t.fake.memberKeys(id)).toHaveLength(29);
    const before = t.fake.uploads.length;
    const report = await t.runOne('wishlisted');
    expect(report).toMatchObject({ status: 'synced', adds: 30 });
    expect(t.fake.uploads.slice(before).map((u) => [u.kind, u.batchSeq, u.last])).toEqual([
      ['replace', 1, false],
      ['replace', 2, true],
    ]);
    expect(t.fake.memberKeys(id)).toEqual(metaKeys(await expectedIds(t.wh, 'wishlisted')));
    expect((await t.runOne('wishlisted')).status).toBe('unchanged'); // the old session is settled
  });

  it('holds an audience that would shrink by more than maxShrink, or empty, unless --force', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 100);
    await setMembers(t.wh, 'complementary_products', 'true');
    await t.runOne('complementary_products');
    const id = await externalId(t.wh, 'complementary_products');
    const calls = t.fake.uploads.length;

    await setMembers(t.wh, 'complementary_products', "customer_id <= 'c000049'"); // 100 -> 49
    const held = await t.runOne('complementary_products');
    expect(held).toMatchObject({ status: 'held', removes: 51, size: 49, requests: 0 });
    expect(held.message).toContain('--force');
    expect(t.fake.uploads).toHaveLength(calls);
    expect(t.fake.memberKeys(id)).toHaveLength(100);

    await setMembers(t.wh, 'complementary_products', "customer_id <= 'c000050'"); // exactly half: allowed
    expect((await t.runOne('complementary_products')).status).toBe('synced');

    await setMembers(t.wh, 'complementary_products', 'false'); // empty
    expect((await t.runOne('complementary_products')).status).toBe('held');
    const forced = await t.runOne('complementary_products', { force: true });
    expect(forced).toMatchObject({ status: 'synced', removes: 50, size: 0 });
    expect(t.fake.memberKeys(id)).toEqual([]);
    const statuses = await t.wh.all<{ status: string; error: string | null }>(
      "SELECT status, error FROM destination_syncs WHERE audience = 'complementary_products' ORDER BY started_at, rowid",
    );
    expect(statuses.map((s) => s.status)).toEqual(['synced', 'held', 'synced', 'held', 'synced']);
    expect(statuses[1]!.error).toContain('100 to 49');
  });

  it('sends nothing for an empty audience never synced, and empties a forced full refresh with removes', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'one_time_buyers', 'false');
    expect(await t.runOne('one_time_buyers')).toMatchObject({ status: 'unchanged', size: 0, requests: 0 });
    expect(t.fake.requestUrls).toEqual([]);

    await setMembers(t.wh, 'one_time_buyers', 'true');
    await t.runOne('one_time_buyers');
    const id = await externalId(t.wh, 'one_time_buyers');
    await setMembers(t.wh, 'one_time_buyers', 'false');
    const report = await t.runOne('one_time_buyers', { fullRefresh: true, force: true });
    expect(report).toMatchObject({ status: 'synced', adds: 0, removes: 10, size: 0 });
    expect(t.fake.uploads.at(-1)).toMatchObject({ kind: 'remove', rows: 10, last: true });
    expect(t.fake.memberKeys(id)).toEqual([]);
  });

  it('--dry-run reports adds, removes, held and hashed samples, and sends nothing', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 20);
    await setMembers(t.wh, 'a_new', 'true');
    const report = await t.run({ dryRun: true });
    expect(report.destination).toBe('meta');
    const a = report.audiences[0]!;
    expect(a).toMatchObject({ audience: 'a_new', status: 'planned', adds: 20, removes: 0, requests: 2 });
    expect(a.samples).toHaveLength(3);
    const sample = a.samples![0] as Record<string, string>;
    expect(sample.action).toBe('add');
    expect(sample.EXTERN_ID).toBe((await t.wh.one<{ h: string }>("SELECT sha256('c000001') AS h"))!.h);
    for (const key of ['EMAIL', 'PHONE', 'FN', 'LN', 'CT', 'ST', 'ZIP', 'COUNTRY']) {
      expect(sample[key]).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(t.fake.requestUrls).toEqual([]);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_syncs')).toBe(0);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_audiences')).toBe(0);

    await t.run();
    await setMembers(t.wh, 'a_new', "customer_id <= 'c000005'");
    const held = (await t.run({ dryRun: true })).audiences[0]!;
    expect(held).toMatchObject({ status: 'held', removes: 15, size: 5 });
  });

  it('stores num_invalid_entries and samples per batch and reports them', async () => {
    const t = await setup({
      fake: {
        invalid: (row) =>
          row[0] === metaKey('c000002') || row[0] === metaKey('c000004') ? 'Invalid phone format' : undefined,
      },
    });
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    const report = await t.runOne('cart_abandoners');
    expect(report).toMatchObject({ status: 'synced', invalidEntries: 2 });
    expect(report.message).toContain('Invalid phone format');
    const batch = await t.wh.one<{ num_invalid_entries: bigint; invalid_entry_samples: string }>(
      'SELECT num_invalid_entries, invalid_entry_samples FROM meta_sync_batches',
    );
    expect(batch!.num_invalid_entries).toBe(2n);
    expect(JSON.parse(batch!.invalid_entry_samples)).toEqual({
      [metaKey('c000002')]: 'Invalid phone format',
      [metaKey('c000004')]: 'Invalid phone format',
    });
    expect(await t.wh.scalar('SELECT invalid_entries FROM destination_syncs')).toBe(2);
  });

  it('reports an audience deleted on Meta and does not recreate it until told to', async () => {
    const t = await setup();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'wishlisted', "customer_id <= 'c000005'");
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    t.fake.deleteAudience(id);
    await setMembers(t.wh, 'wishlisted', 'true');

    const failed = await t.runOne('wishlisted');
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(/no longer exists/);
    expect(failed.message).toMatch(/fbtrace_id/);
    const uploads = t.fake.uploads.length;
    const again = await t.runOne('wishlisted');
    expect(again.status).toBe('failed');
    expect(again.message).toContain('forgetMetaAudience');
    expect(t.fake.uploads).toHaveLength(uploads);
    expect(t.fake.audiences.size).toBe(1);

    await forgetMetaAudience(t.wh, 'wishlisted');
    const fresh = await t.runOne('wishlisted');
    expect(fresh).toMatchObject({ status: 'synced', adds: 10 });
    expect(await externalId(t.wh, 'wishlisted')).not.toBe(id);
  });
});

describe('metaConfigFromEnv', () => {
  it('is enabled by META_ACCESS_TOKEN and META_AD_ACCOUNT_ID, with or without act_', () => {
    expect(metaConfigFromEnv({})).toBeUndefined();
    expect(() => metaConfigFromEnv({ META_ACCESS_TOKEN: 'x' })).toThrow('META_AD_ACCOUNT_ID is not');
    expect(() => metaConfigFromEnv({ META_AD_ACCOUNT_ID: '42' })).toThrow('META_ACCESS_TOKEN is not');
    const c = metaConfigFromEnv({ META_ACCESS_TOKEN: 'tok', META_AD_ACCOUNT_ID: 'act_42' })!;
    expect(c).toMatchObject({
      adAccountId: '42',
      graphUrl: 'https://graph.facebook.com',
      maxShrink: 0.5,
      batchSize: 10_000,
    });
    expect(
      metaConfigFromEnv({
        META_ACCESS_TOKEN: 'tok',
        META_AD_ACCOUNT_ID: '42',
        META_GRAPH_URL: 'http://127.0.0.1:9/',
      })!.graphUrl,
    ).toBe('http://127.0.0.1:9');
    expect(() => metaConfigFromEnv({ META_ACCESS_TOKEN: 'tok', META_AD_ACCOUNT_ID: 'acct-1' })).toThrow(
      /META_AD_ACCOUNT_ID/,
    );
  });

  it('merges non-secret settings from retarget.config.ts; the environment wins; the token stays out of files', () => {
    const env = { META_ACCESS_TOKEN: 'tok', META_GRAPH_URL: 'http://127.0.0.1:9' };
    const c = metaConfigFromEnv(env, {
      adAccountId: 'act_77',
      namePrefix: 'shop: ',
      maxShrink: 0.2,
      graphUrl: 'x',
    })!;
    expect(c).toMatchObject({
      adAccountId: '77',
      namePrefix: 'shop: ',
      maxShrink: 0.2,
      graphUrl: 'http://127.0.0.1:9',
    });
    expect(metaConfigFromEnv({}, { namePrefix: 'x' })).toBeUndefined(); // no account, no token: disabled
    // An account configured in the file without its token is a mistake worth stopping on.
    expect(() => metaConfigFromEnv({}, { adAccountId: '77' })).toThrow(/META_ACCESS_TOKEN is not set/);
    expect(() => metaConfigFromEnv(env, { accessToken: 'tok' })).toThrow(/META_ACCESS_TOKEN/);
    expect(() => metaConfigFromEnv(env, { adAccountId: '1', maxShrink: 2 })).toThrow(
      /destinations\.meta\.maxShrink/,
    );
    expect(() => metaConfigFromEnv(env, { adAccountId: '1', batchsize: 5 })).toThrow(/destinations\.meta/);
  });
});
