import { IngestionServiceClient } from '@google-ads/datamanager';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { googleAdsConfigFromEnv } from '../connectors/destinations/google-ads/config.ts';
import { toApiError } from '../connectors/destinations/google-ads/errors.ts';
import { forgetGoogleAdsAudience } from '../connectors/destinations/google-ads/index.ts';
import type { FakeDataManager } from './fakes/data-manager.ts';
import {
  CUSTOMER,
  type GoogleAdsTest,
  listId,
  seedCustomers,
  setMembers,
  setupGoogleAds,
} from './fakes/data-manager-setup.ts';

let t: GoogleAdsTest | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('Google Ads destination: errors', () => {
  it('retries UNAVAILABLE and RESOURCE_EXHAUSTED with growing, jittered backoff until the request succeeds', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 4);
    await setMembers(t.wh, 'buyers', 'true');
    t.fake.failNext('CreateUserList', grpc.status.UNAVAILABLE, 1);
    t.fake.failNext('IngestAudienceMembers', grpc.status.RESOURCE_EXHAUSTED, 3);
    const report = await t.runOne('buyers');
    expect(report).toMatchObject({ status: 'synced', adds: 4 });
    expect(t.fake.lists.get(await listId(t.wh, 'buyers'))!.members.size).toBe(4);
    expect(t.fake.callsOf('IngestAudienceMembers').map((c) => c.code)).toEqual([8, 8, 8, 0]);
    // min 10 ms doubling, each randomised within [base, 2 x base].
    expect(t.sleeps).toHaveLength(4);
    const ingestWaits = t.sleeps.slice(1);
    [10, 20, 40].forEach((base, i) => {
      expect(ingestWaits[i]).toBeGreaterThanOrEqual(base);
      expect(ingestWaits[i]).toBeLessThanOrEqual(2 * base);
    });
  });

  it('gives up when the retry budget is spent: that audience fails, nothing is confirmed', async () => {
    t = await setupGoogleAds({ config: { retry: { retries: 10, minTimeoutMs: 100, maxRetryTimeMs: 250 } } });
    await seedCustomers(t.wh, 2);
    await setMembers(t.wh, 'buyers', 'true');
    t.fake.failNext('IngestAudienceMembers', grpc.status.UNAVAILABLE, 50);
    const report = await t.runOne('buyers');
    expect(report.status).toBe('failed');
    expect(report.message).toMatch(/IngestAudienceMembers failed: UNAVAILABLE/);
    expect(t.fake.callsOf('IngestAudienceMembers').length).toBeLessThan(4);
    expect(await t.wh.scalar('SELECT count(*) FROM destination_members')).toBe(0);
  });

  it('a permanent error fails only its audience, with the reason and decoded field violations', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 6);
    await setMembers(t.wh, 'a_buyers', 'true');
    await setMembers(t.wh, 'b_browsers', "customer_id <= 'c003'");
    await t.run();
    // A stored payload that is not a SHA-256 hash (e.g. written by a broken older version) is rejected whole.
    await t.wh.run(
      `UPDATE destination_members SET payload = '[{"emailAddress":"not-hex!"}]'
       WHERE destination = 'google_ads' AND audience = 'a_buyers' AND customer_id = 'c001'`,
    );
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id = 'c001'");
    await t.wh.run("UPDATE customers SET email = 'changed@example.com' WHERE customer_id = 'c002'");
    const report = await t.run();
    const [a, b] = report.audiences;
    expect(a).toMatchObject({ audience: 'a_buyers', status: 'failed' });
    expect(a!.message).toContain('RemoveAudienceMembers failed: INVALID_ARGUMENT INVALID_HEX_ENCODING');
    // fieldViolations[].reason, which the Node client drops, decoded from grpc-status-details-bin.
    expect(a!.message).toContain(
      'audience_members.audience_members[0].user_data.user_identifiers[0].email_address: INVALID_HEX_ENCODING',
    );
    expect(b).toMatchObject({ audience: 'b_browsers', status: 'synced', adds: 1, removes: 2 });
    const row = await t.wh.one<{ status: string; error: string }>(
      "SELECT status, error FROM destination_syncs WHERE audience = 'a_buyers' ORDER BY started_at DESC LIMIT 1",
    );
    expect(row).toMatchObject({ status: 'failed' });
    expect(row!.error).toContain('INVALID_HEX_ENCODING');
    expect(row!.error).not.toContain('example.com');
  });

  it('a user list deleted on Google is reported and never recreated', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 3);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    t.fake.deleteList(await listId(t.wh, 'buyers'));
    await t.wh.run("UPDATE customers SET email = 'other@example.com' WHERE customer_id = 'c002'");
    const failed = await t.runOne('buyers');
    expect(failed.status).toBe('failed');
    expect(failed.message).toMatch(/no longer exists.*not recreated.*INVALID_USER_LIST_ID/);
    const again = await t.runOne('buyers');
    expect(again.status).toBe('failed');
    expect(again.message).toMatch(/no longer exists/);
    expect(t.fake.callsOf('CreateUserList')).toHaveLength(1);

    // Forgetting its state (docs/google-ads.md) starts afresh: a new list holding every member.
    await forgetGoogleAdsAudience(t.wh, 'buyers');
    expect(await t.runOne('buyers')).toMatchObject({ status: 'synced', adds: 3 });
    expect(t.fake.callsOf('CreateUserList')).toHaveLength(2);
    expect(t.fake.lists.get(await listId(t.wh, 'buyers'))!.members.size).toBe(3);
  });

  it('a list whose id was lost (a crash right after CreateUserList, or forget) is found by its name, not duplicated', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 3);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    const id = await listId(t.wh, 'buyers');
    await forgetGoogleAdsAudience(t.wh, 'buyers');
    expect(await t.runOne('buyers')).toMatchObject({ status: 'synced', adds: 3 });
    expect(await listId(t.wh, 'buyers')).toBe(id);
    expect(t.fake.callsOf('CreateUserList')).toHaveLength(1);
    expect(t.fake.lists.size).toBe(1);
  });

  it('asks Google about requests older than 30 minutes and stores status, counts and match rate', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 5);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    await t.runOne('buyers');
    expect(t.fake.callsOf('RetrieveRequestStatus')).toHaveLength(0); // too recent
    await t.wh.run("UPDATE google_ads_requests SET sent_at = sent_at - INTERVAL '31 minutes'");
    t.fake.requestStatus = 'PARTIAL_SUCCESS';
    await t.runOne('buyers');
    const row = await t.wh.one(
      `SELECT request_status, record_count, user_identifier_count, error_counts::VARCHAR AS errors, match_rate_range
       FROM google_ads_requests`,
    );
    expect(row).toEqual({
      request_status: 'PARTIAL_SUCCESS',
      record_count: 5n,
      user_identifier_count: 13n, // 5 emails, 5 phones, 3 addresses
      errors: '{"PROCESSING_ERROR_REASON_NO_CONSENT":2}',
      match_rate_range: 'MATCH_RATE_RANGE_51_TO_60',
    });
    await t.runOne('buyers');
    expect(t.fake.callsOf('RetrieveRequestStatus')).toHaveLength(1); // final: not asked again
  });
});

describe('Data Manager fake: strict like Google', () => {
  const hash = 'a'.repeat(64);
  async function ingest(fake: FakeDataManager, endpoint: string, over: Record<string, unknown>) {
    const [host, port] = endpoint.split(':');
    const client = new IngestionServiceClient({
      apiEndpoint: host,
      port: Number(port),
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
    const list = [...fake.lists.values()][0]!;
    try {
      await client.ingestAudienceMembers({
        destinations: [{ operatingAccount: { accountId: CUSTOMER }, productDestinationId: list.id }],
        audienceMembers: [{ userData: { userIdentifiers: [{ emailAddress: hash }] } }],
        encoding: 'HEX',
        termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' },
        ...over,
      });
      return 'OK';
    } catch (err) {
      return toApiError(err, 'ingest').message;
    } finally {
      await client.close();
    }
  }

  it('rejects the whole request on one bad record, naming the reason', async () => {
    t = await setupGoogleAds();
    await seedCustomers(t.wh, 1);
    await setMembers(t.wh, 'buyers', 'true');
    await t.runOne('buyers');
    const { fake, endpoint } = t;
    const member = (ids: object[]) => ({ userData: { userIdentifiers: ids } });
    const good = member([{ emailAddress: hash }]);
    expect(await ingest(fake, endpoint, {})).toBe('OK');
    expect(
      await ingest(fake, endpoint, { audienceMembers: [good, member([{ emailAddress: 'zz' }])] }),
    ).toMatch(/INVALID_HEX_ENCODING \(audience_members.audience_members\[1\]/);
    expect(await ingest(fake, endpoint, { audienceMembers: [member([{ phoneNumber: 'abc123' }])] })).toMatch(
      /INVALID_SHA256_FORMAT/,
    );
    expect(await ingest(fake, endpoint, { audienceMembers: Array(10_001).fill(good) })).toMatch(
      /TOO_MANY_AUDIENCE_MEMBERS/,
    );
    expect(
      await ingest(fake, endpoint, { audienceMembers: [member(Array(11).fill({ emailAddress: hash }))] }),
    ).toMatch(/TOO_MANY_USER_IDENTIFIERS/);
    expect(
      await ingest(fake, endpoint, {
        destinations: [{ operatingAccount: { accountId: CUSTOMER }, productDestinationId: '42' }],
      }),
    ).toMatch(/INVALID_USER_LIST_ID/);
    expect(await ingest(fake, endpoint, { termsOfService: undefined })).toMatch(
      /TERMS_AND_CONDITIONS_NOT_SIGNED/,
    );
    expect(await ingest(fake, endpoint, { encoding: undefined })).toMatch(/INVALID_ARGUMENT \(encoding/);
    expect(
      await ingest(fake, endpoint, { audienceMembers: [good, { userIdData: { userId: 'u1' } }] }),
    ).toMatch(/MULTIPLE_DATA_TYPES_NOT_ALLOWED/);
    expect(
      await ingest(fake, endpoint, {
        audienceMembers: [member([{ address: { givenName: hash, familyName: hash, regionCode: 'US' } }])],
      }),
    ).toMatch(/address: INVALID_ARGUMENT Address is missing postalCode/);
  });
});

describe('Google Ads settings', () => {
  it('is enabled by GOOGLE_ADS_CUSTOMER_ID (dashes allowed) and checks the other names', () => {
    expect(googleAdsConfigFromEnv({})).toBeUndefined();
    const config = googleAdsConfigFromEnv({
      GOOGLE_ADS_CUSTOMER_ID: '123-456-7890',
      GOOGLE_ADS_LOGIN_CUSTOMER_ID: '987-654-3210',
      GOOGLE_ADS_CUSTOMER_MATCH_TERMS: 'accepted',
      DATA_MANAGER_ENDPOINT: '127.0.0.1:9999',
      DATA_MANAGER_INSECURE: '1',
    });
    expect(config).toMatchObject({
      customerId: '1234567890',
      loginCustomerId: '9876543210',
      termsAccepted: true,
      endpoint: '127.0.0.1:9999',
      insecure: true,
      membershipDays: 540,
    });
    expect(googleAdsConfigFromEnv({ GOOGLE_ADS_CUSTOMER_ID: '1234567890' })?.termsAccepted).toBe(false);
    expect(() => googleAdsConfigFromEnv({ GOOGLE_ADS_CUSTOMER_ID: '12345' })).toThrow(
      /GOOGLE_ADS_CUSTOMER_ID must be a 10-digit customer id/,
    );
    expect(() =>
      googleAdsConfigFromEnv({
        GOOGLE_ADS_CUSTOMER_ID: '1234567890',
        GOOGLE_ADS_CUSTOMER_MATCH_TERMS: 'yes',
      }),
    ).toThrow(/GOOGLE_ADS_CUSTOMER_MATCH_TERMS must be "accepted"/);
    expect(() => googleAdsConfigFromEnv({}, { customerId: '1234567890', membershipDay: 30 })).toThrow(
      /destinations.google_ads: .*membershipDay/,
    );
    expect(() => googleAdsConfigFromEnv({}, { customerId: '1234567890', membershipDays: 541 })).toThrow(
      /destinations.google_ads.membershipDays/,
    );
  });
});
