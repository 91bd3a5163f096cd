import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { googleEmailSql } from '../connectors/destinations/identifiers/google.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import {
  CUSTOMER,
  confirmedIds,
  type GoogleAdsTest,
  listId,
  MANAGER,
  seedCustomers,
  setMembers,
  setupGoogleAds,
} from './fakes/data-manager-setup.ts';

type SentMember = { consent?: object; userData: { userIdentifiers: Array<Record<string, unknown>> } };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let t: GoogleAdsTest | undefined;
afterEach(async () => {
  if (t) {
    // No raw identifier ever reaches a log line.
    expect(t.logs.join('\n')).not.toMatch(/example\.com|gmail\.com|555/i);
    await t.close();
  }
  t = undefined;
});

describe('Google Ads destination: syncing audiences through the Data Manager API', () => {
  it('first sync creates the user list and ingests consented members in requests of at most batchSize', async () => {
    t = await setupGoogleAds({ config: { batchSize: 10 } });
    await seedCustomers(t.wh, 25);
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c025'");
    await setMembers(t.wh, 'buyers', 'true');

    const report = await t.runOne('buyers');
    expect(report).toMatchObject({ status: 'synced', adds: 24, removes: 0, size: 24, unmatchable: 0 });
    expect(report.requests).toBe(1 + 3); // the list, then 10 + 10 + 4 members

    const id = await listId(t.wh, 'buyers');
    const list = t.fake.lists.get(id)!;
    expect(list.account).toBe(CUSTOMER); // dashes removed
    expect(list.displayName).toMatch(/^retarget: buyers \[[0-9a-f]{10}\]$/);
    expect(list.description).toContain('test_segment');
    expect(list.membershipSeconds).toBe(String(540 * 86_400));
    expect(list.members.size).toBe(24);

    const ingests = t.fake.callsOf('IngestAudienceMembers');
    expect(ingests.map((c) => (c.request.audienceMembers as unknown[]).length)).toEqual([10, 10, 4]);
    const first = ingests[0]!;
    // The manager account: a header on UserListService calls, the destination's loginAccount on ingestion.
    expect(t.fake.callsOf('CreateUserList')[0]!.loginAccount).toBe(
      `accountTypes/GOOGLE_ADS/accounts/${MANAGER}`,
    );
    expect(first.request).toMatchObject({
      encoding: 'HEX',
      termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' },
      consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' },
      destinations: [
        {
          operatingAccount: { accountId: CUSTOMER, accountType: 'GOOGLE_ADS' },
          loginAccount: { accountId: MANAGER, accountType: 'GOOGLE_ADS' },
          productDestinationId: id,
        },
      ],
    });
    // c001: gmail rule (dots and +tag gone), E.164 phone WITH "+", full address (odd number).
    const sent = first.request.audienceMembers as SentMember[];
    const c001 = sent[0]!;
    expect(c001.consent).toEqual({ adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' });
    expect(c001.userData.userIdentifiers).toEqual([
      { emailAddress: sha('janedoe@gmail.com'), identifier: 'emailAddress' },
      { phoneNumber: sha('+16505550001'), identifier: 'phoneNumber' },
      {
        address: { givenName: sha('mary'), familyName: sha('smith'), regionCode: 'US', postalCode: '94025' },
        identifier: 'address',
      },
    ]);
    // c002 has no zip: no address identifier at all (Google rejects a partial one).
    const c002 = sent[1]!;
    expect(c002.userData.userIdentifiers.map((i) => i.identifier)).toEqual(['emailAddress', 'phoneNumber']);
    expect(c002.userData.userIdentifiers[0]!.emailAddress).toBe(sha('user2@example.com'));

    // Every accepted request id is stored with its audience and list.
    const stored = await t.wh.all<{ request_id: string }>(
      "SELECT request_id FROM google_ads_requests WHERE audience = 'buyers' AND user_list_id = $1 ORDER BY sent_at",
      [id],
    );
    expect(stored.map((r) => r.request_id).sort()).toEqual(ingests.map((c) => c.requestId).sort());
    expect(await confirmedIds(t.wh, 'buyers')).toHaveLength(24);

    // Nothing changed: no request at all, and the list is reused.
    const calls = t.fake.calls.length;
    expect(await t.runOne('buyers')).toMatchObject({ status: 'unchanged', requests: 0 });
    expect(t.fake.calls.length).toBe(calls);
  });
});

describe('Google Ads destination: changes, privacy and the guard', () => {
  it('sends only the diff: removes with the identifiers sent, for consent withdrawn and forgotten customers too', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    const id = await listId(t.wh, 'buyers');
    const firstIngest = t.fake.callsOf('IngestAudienceMembers')[0]!.request.audienceMembers as Array<{
      userData: object;
    }>;
    const before = t.fake.calls.length;

    // c003 withdraws consent, c004 is forgotten (its customers row erased), c005 changes email, c011 joins.
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c003'");
    await t.wh.run("DELETE FROM customers WHERE customer_id = 'c004'");
    await t.wh.run("UPDATE customers SET email = 'new5@example.com' WHERE customer_id = 'c005'");
    await t.wh.run(
      "INSERT INTO customers (customer_id, email, country, created_at, ads_consent) VALUES ('c011', 'eleven@example.com', 'US', TIMESTAMP '2025-01-01', true)",
    );
    await setMembers(t.wh, 'buyers', 'true');
    await t.wh.run(
      "INSERT INTO audience_members (audience, segment, customer_id, entered_at) VALUES ('buyers', 'test_segment', 'c004', TIMESTAMP '2026-01-01')",
    );

    const report = await t.runOne('buyers');
    expect(report).toMatchObject({ status: 'synced', adds: 2, removes: 3, size: 9 });
    const calls = t.fake.calls.slice(before).map((c) => c.method);
    expect(calls).toEqual(['RemoveAudienceMembers', 'IngestAudienceMembers']); // removes first, list reused
    const removed = t.fake.callsOf('RemoveAudienceMembers')[0]!.request;
    expect(removed).toMatchObject({ encoding: 'HEX', destinations: [{ productDestinationId: id }] });
    expect(removed.termsOfService).toBeUndefined();
    // The forgotten customer's removal carries exactly what was sent for them (from destination_members).
    const removedIds = (removed.audienceMembers as Array<{ userData: object }>).map((m) => m.userData);
    expect(removedIds).toContainEqual(firstIngest[3]!.userData); // c004's identifiers as first sent
    expect(t.fake.emailHashes(id)).not.toContain(sha('user3@example.com'));
    expect(t.fake.emailHashes(id)).not.toContain(sha('user4@example.com'));
    expect(t.fake.emailHashes(id)).not.toContain(sha('user5@example.com'));
    expect(t.fake.emailHashes(id)).toContain(sha('new5@example.com'));
    expect(t.fake.emailHashes(id)).toContain(sha('eleven@example.com'));
    expect(t.fake.lists.get(id)!.members.size).toBe(9);
  });

  it('holds a collapsing audience (no request) but still sends its privacy removals; --force syncs it', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    const id = await listId(t.wh, 'buyers');

    await setMembers(t.wh, 'buyers', "customer_id <= 'c002'");
    const before = t.fake.calls.length;
    const held = await t.runOne('buyers');
    expect(held).toMatchObject({ status: 'held', requests: 0 });
    expect(held.message).toMatch(/would shrink from 10 to 2/);
    expect(t.fake.calls.length).toBe(before);

    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c009'");
    const privacy = await t.runOne('buyers');
    expect(privacy.status).toBe('held');
    expect(t.fake.callsOf('RemoveAudienceMembers')).toHaveLength(1);
    expect(t.fake.lists.get(id)!.members.size).toBe(9);

    expect(await t.runOne('buyers', { force: true })).toMatchObject({ status: 'synced', size: 2 });
    expect(t.fake.lists.get(id)!.members.size).toBe(2);
  });

  it('dry run plans and shows hashed samples, sends nothing and stores nothing', async () => {
    t = await setupGoogleAds({ config: { termsAccepted: false } });
    await seedCustomers(t.wh, 3);
    await setMembers(t.wh, 'buyers', 'true');
    const report = await t.runOne('buyers', { dryRun: true });
    expect(report).toMatchObject({ status: 'planned', adds: 3, requests: 2 });
    expect(report.samples?.[0]).toEqual({
      action: 'add',
      emailAddress: sha('janedoe@gmail.com'),
      phoneNumber: sha('+16505550001'),
      'address.givenName': sha('mary'),
      'address.familyName': sha('smith'),
      'address.regionCode': 'US',
      'address.postalCode': '(not shown)',
    });
    expect(t.fake.calls).toHaveLength(0);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);
  });

  it('sends nothing until the Customer Match terms are declared accepted, and says how', async () => {
    t = await setupGoogleAds({ config: { termsAccepted: false } });
    await seedCustomers(t.wh, 3);
    await setMembers(t.wh, 'buyers', 'true');
    await expect(t.run({ audiences: ['buyers'] })).rejects.toThrow(
      /nothing sent.*GOOGLE_ADS_CUSTOMER_MATCH_TERMS=accepted/,
    );
    expect(t.fake.calls).toHaveLength(0);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);
  });
});

describe("Google's email rule", () => {
  it('strips dots and +tags in gmail.com and googlemail.com local parts only', async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    try {
      const rows = await wh.all<{ out: string | null }>(
        `SELECT ${googleEmailSql('e')} AS out FROM (VALUES ('j.a.ne+x+y@gmail.com', 1), ('jane.doe+news@googlemail.com', 2),
           ('user.name+nyc@example.com', 3), ('jane@gmail.com.evil.io', 4), (NULL, 5)) v(e, n) ORDER BY n`,
      );
      expect(rows.map((r) => r.out)).toEqual([
        'jane@gmail.com',
        'janedoe@googlemail.com',
        'user.name+nyc@example.com',
        'jane@gmail.com.evil.io',
        null,
      ]);
    } finally {
      wh.close();
    }
  });
});
