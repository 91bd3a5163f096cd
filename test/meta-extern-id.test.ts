/**
 * EXTERN_ID reaches Meta as the SHA-256 of customer_id, never raw: a store guest's id is `guest:<email>` and a
 * store may use e-mails as its own ids, so a raw EXTERN_ID would send contact data in clear (docs/privacy.md 14).
 * Real DuckDB, the real SDK and the local Graph fake, seen through a proxy that records every raw request.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdentifierTable } from '../connectors/destinations/identifiers/normalize.ts';
import { audienceSourceSql, META_SCHEMA } from '../connectors/destinations/meta/normalize.ts';
import { guestKeySql } from '../connectors/sources/store-records.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { externalId, seedCustomers, setMembers, setupMetaEach } from './fakes/meta-graph-setup.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** What reached "Meta": method, URL (query string included) and body of every request, as sent on the wire. */
interface Recorded {
  method: string;
  url: string;
  body: string;
}

/** An HTTP proxy in front of the Graph fake that records each request raw (the fake keeps only parsed rows). */
async function recordingProxy(): Promise<{
  url: string;
  target: { url: string };
  requests: Recorded[];
  stop(): Promise<void>;
}> {
  const requests: Recorded[] = [];
  const target = { url: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', body: body.toString('utf8') });
      const upstream = request(
        `${target.url}${req.url ?? '/'}`,
        { method: req.method, headers: { ...req.headers, host: new URL(target.url).host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    target,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const setup = setupMetaEach();
let proxy: Awaited<ReturnType<typeof recordingProxy>> | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** The Meta test setup with its Graph traffic going through a recording proxy. */
async function setupRecorded() {
  proxy = await recordingProxy();
  const t = await setup({ config: { graphUrl: proxy.url } });
  proxy.target.url = t.fake.url;
  return { t, requests: proxy.requests };
}

const GUEST_EMAIL = 'Gina.Guest@Example.com';

/** A store guest (its key as the store sources build it, `guest:<email>`) and a customer whose store id is an e-mail. */
async function seedEmailIds(wh: Warehouse): Promise<string[]> {
  await wh.run(
    `INSERT INTO customers (customer_id, email, first_name, last_name, country, created_at, ads_consent)
     VALUES (${guestKeySql('$1::VARCHAR')}, $1, 'Gina', 'Guest', 'IT', TIMESTAMP '2026-01-01', true),
            ('mario.rossi@example.it', 'mario.rossi@example.it', 'Mario', 'Rossi', 'IT', TIMESTAMP '2026-01-01', true)`,
    [GUEST_EMAIL],
  );
  const rows = await wh.all<{ customer_id: string }>(
    "SELECT customer_id FROM customers WHERE customer_id LIKE '%@%' ORDER BY 1",
  );
  return rows.map((r) => r.customer_id);
}

async function metaPayloads(wh: Warehouse, audience: string) {
  return wh.all<{ customer_id: string; fingerprint: string; payload: string }>(
    `SELECT customer_id, fingerprint, payload FROM destination_members
     WHERE destination = 'meta' AND audience = $1 ORDER BY customer_id`,
    [audience],
  );
}

/** Every text that left for Meta, decoded as far as the SDK encoded it (URL query strings, JSON bodies). */
function wireText(requests: Recorded[]): string {
  return requests
    .map((r) => {
      let url = r.url;
      try {
        url = decodeURIComponent(r.url.replaceAll('+', ' '));
      } catch {}
      return `${r.method} ${r.url}\n${url}\n${r.body}`;
    })
    .join('\n');
}

/**
 * What an older version left in destination_members, built the way it built it: EXTERN_ID the raw customer_id
 * (JSON-quoted), the other keys hashed as now, and the fingerprint over the plain values only.
 */
async function rewriteAsOlderVersion(wh: Warehouse, audience: string): Promise<void> {
  await createIdentifierTable(wh, 'old_ids', audienceSourceSql('$1'), [audience]);
  await wh.run(
    `UPDATE destination_members dm SET
       payload = '[' || to_json(dm.customer_id)::VARCHAR || substr(dm.payload, 68),
       fingerprint = (SELECT md5(concat_ws(chr(31), coalesce(i.email, ''), coalesce(ltrim(i.phone, '+'), ''),
                        coalesce(i.fn, ''), coalesce(i.ln, ''), coalesce(i.ct, ''), coalesce(i.st, ''),
                        coalesce(i.zip, ''), coalesce(i.country, '')))
                      FROM old_ids i WHERE i.customer_id = dm.customer_id)
     WHERE destination = 'meta' AND audience = $1`,
    [audience],
  );
  await wh.run('DROP TABLE old_ids');
}

describe('Meta EXTERN_ID is hashed (no raw id, e-mail or guest key leaves the machine)', () => {
  it('a guest keyed by its e-mail, and a store id that is an e-mail, reach Meta and destination_members only as hashes', async () => {
    const { t, requests } = await setupRecorded();
    await seedCustomers(t.wh, 3);
    const emailIds = await seedEmailIds(t.wh);
    expect(emailIds).toEqual(['guest:gina.guest@example.com', 'mario.rossi@example.it']);
    await setMembers(t.wh, 'one_time_buyers', 'true');

    const report = await t.runOne('one_time_buyers');
    expect(report).toMatchObject({ status: 'synced', adds: 5, removes: 0, size: 5 });
    const id = await externalId(t.wh, 'one_time_buyers');
    const ids = [...emailIds, 'c000001', 'c000002', 'c000003'];

    // Meta holds exactly the hashed ids, each row's EXTERN_ID = sha256(customer_id).
    const members = t.fake.audience(id)!.members;
    expect([...members.keys()].sort()).toEqual(ids.map(sha256).sort());
    for (const row of members.values()) for (const v of row) expect(v).toMatch(/^([0-9a-f]{64})?$/);

    // destination_members keeps the row as sent: hashes only.
    const stored = await metaPayloads(t.wh, 'one_time_buyers');
    expect(stored).toHaveLength(5);
    for (const r of stored) {
      const row = JSON.parse(r.payload) as string[];
      expect(row).toHaveLength(META_SCHEMA.length);
      expect(row[META_SCHEMA.indexOf('EXTERN_ID')]).toBe(sha256(r.customer_id));
      for (const v of row) expect(v).toMatch(/^([0-9a-f]{64})?$/);
    }

    // The guest leaves the audience: the removal travels in the DELETE URL, hashed as well.
    await setMembers(t.wh, 'one_time_buyers', "customer_id NOT LIKE 'guest:%'");
    const removal = await t.runOne('one_time_buyers');
    expect(removal).toMatchObject({ status: 'synced', adds: 0, removes: 1, size: 4 });
    expect(requests.some((r) => r.method === 'DELETE' && r.url.includes(sha256(emailIds[0]!)))).toBe(true);

    // Nothing raw on the wire, in any request (create, adds, removal), nor in what is stored.
    expect(requests.filter((r) => r.method === 'POST' && r.url.includes('/users')).length).toBe(1);
    const wire = wireText(requests).toLowerCase();
    const storedText = (await metaPayloads(t.wh, 'one_time_buyers')).map((r) => r.payload).join('\n');
    for (const raw of [...ids, GUEST_EMAIL.toLowerCase(), 'guest:', 'gina.guest', 'mario.rossi']) {
      expect(wire, `${raw} sent to Meta`).not.toContain(raw.toLowerCase());
      expect(storedText, `${raw} in destination_members.payload`).not.toContain(raw);
    }
    expect([...t.fake.audience(id)!.members.keys()].sort()).toEqual(
      [emailIds[1]!, 'c000001', 'c000002', 'c000003'].map(sha256).sort(),
    );
  });

  it('an audience synced with raw EXTERN_IDs by an older version is cleaned once: old rows removed, hashed rows added', async () => {
    const { t, requests } = await setupRecorded();
    await seedCustomers(t.wh, 8);
    const emailIds = await seedEmailIds(t.wh);
    await setMembers(t.wh, 'wishlisted', 'true');
    await t.runOne('wishlisted');
    const id = await externalId(t.wh, 'wishlisted');
    const ids = (await metaPayloads(t.wh, 'wishlisted')).map((r) => r.customer_id);
    expect(ids).toHaveLength(10);

    // As an older version left it: raw EXTERN_IDs in destination_members and in the Meta audience.
    await rewriteAsOlderVersion(t.wh, 'wishlisted');
    const audience = t.fake.audience(id)!;
    audience.members = new Map(
      (await metaPayloads(t.wh, 'wishlisted')).map((r) => [r.customer_id, JSON.parse(r.payload) as string[]]),
    );
    expect(t.fake.memberKeys(id)).toEqual([...ids].sort());
    const before = requests.length;

    // The next run: every member counts as changed (remove the raw row, add the hashed one); the shrink guard
    // sees no shrink (size stays 10), so nothing is held.
    const report = await t.runOne('wishlisted');
    expect(report).toMatchObject({ status: 'synced', adds: 10, removes: 10, size: 10 });
    const sent = requests.slice(before).filter((r) => r.url.includes('/users'));
    expect(sent.map((r) => r.method)).toEqual(['DELETE', 'POST']);
    // The removal quotes the rows Meta holds (the last time a raw id is sent: it already holds them).
    expect(decodeURIComponent(sent[0]!.url)).toContain(JSON.stringify(emailIds[0]));

    expect(t.fake.memberKeys(id)).toEqual(ids.map(sha256).sort());
    for (const row of t.fake.audience(id)!.members.values())
      for (const v of row) expect(v).toMatch(/^([0-9a-f]{64})?$/);
    const stored = await metaPayloads(t.wh, 'wishlisted');
    expect(stored.map((r) => r.customer_id)).toEqual(ids);
    for (const r of stored) {
      expect(JSON.parse(r.payload)[0]).toBe(sha256(r.customer_id));
      for (const raw of [r.customer_id, ...emailIds]) expect(r.payload).not.toContain(raw);
    }
    expect(
      await t.wh.scalar(
        "SELECT last_synced_size FROM destination_audiences WHERE destination = 'meta' AND audience = 'wishlisted'",
      ),
    ).toBe(10);

    // Once: the run after sends nothing.
    const again = await t.runOne('wishlisted');
    expect(again).toMatchObject({ status: 'unchanged', adds: 0, removes: 0, requests: 0 });
  });

  it('the one-time re-send is not held by the shrink guard even when members also leave, and privacy removals still go', async () => {
    const { t } = await setupRecorded();
    await seedCustomers(t.wh, 10);
    await setMembers(t.wh, 'cart_abandoners', 'true');
    await t.runOne('cart_abandoners');
    const id = await externalId(t.wh, 'cart_abandoners');
    await rewriteAsOlderVersion(t.wh, 'cart_abandoners');
    t.fake.audience(id)!.members = new Map(
      (await metaPayloads(t.wh, 'cart_abandoners')).map((r) => [
        r.customer_id,
        JSON.parse(r.payload) as string[],
      ]),
    );

    // Two withdraw consent, one leaves the segment: 10 -> 7, within maxShrink.
    await t.wh.run("UPDATE customers SET ads_consent = false WHERE customer_id IN ('c000001', 'c000002')");
    await setMembers(t.wh, 'cart_abandoners', "customer_id <> 'c000010'");
    const report = await t.runOne('cart_abandoners');
    expect(report).toMatchObject({ status: 'synced', adds: 7, removes: 10, size: 7 });
    expect(t.fake.memberKeys(id)).toEqual(
      ['c000003', 'c000004', 'c000005', 'c000006', 'c000007', 'c000008', 'c000009'].map(sha256).sort(),
    );
    for (const r of await metaPayloads(t.wh, 'cart_abandoners'))
      expect(JSON.parse(r.payload)[0]).toBe(sha256(r.customer_id));
  });
});
