import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fixedDeleteUrlBytes } from '../../connectors/destinations/meta/batches.ts';
import {
  audienceSourceSql,
  createMetaDestination,
  createMetaRows,
} from '../../connectors/destinations/meta/index.ts';
import { buildPlan, dropPlan, type Plan } from '../../plans/plan.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { alternate, median, ratioStage, round, type StageResult } from '../measure.ts';

export interface SyncStageOptions {
  /** Audience members to plan for (1,000,000 by default, independent of --scale). */
  members: number;
  /** Scratch directory for the stage's database (a file, so DuckDB can spill under its memory limit). */
  workDir: string;
  reps: number;
  memoryLimit?: string;
}

const AUDIENCE = 'bench_sync';
const DEST = 'meta';
const MAX_ROWS = 10_000;
// Dry runs send nothing: the host only sizes DELETE URLs (as the real one would).
const META = {
  accessToken: 'bench-not-a-token',
  adAccountId: '1000000001',
  graphUrl: 'https://graph.facebook.com',
};
const EXTERNAL_ID = '120200000000000001';

/** What the members database holds, by construction (all members consented and with an email). */
interface Shape {
  members: number;
  newMembers: number;
  changed: number;
  left: number;
}

/**
 * Stage 4: sync planning for N members of one audience against Meta's last confirmed state: 3% new members,
 * 1% whose email changed (a remove of the old row plus an add) and 2% of N former members who left.
 * Measures buildPlan over the Meta destination's desired rows (normalisation + SHA-256 + diff), against a bare
 * hand-written diff with minimal normalisation (same number of SHA-256 calls), then the destination's own dry run
 * and its planned request count, which must equal the minimum Meta allows: ceil(adds / 10,000) for adds, and for
 * removals the fewest batches of <= 10,000 rows whose DELETE URL fits maxUrlBytes.
 */
export async function syncStages(options: SyncStageOptions): Promise<StageResult[]> {
  const db = join(options.workDir, 'sync.duckdb');
  const cleanup = () => {
    for (const p of [db, `${db}.wal`, `${db}.tmp`]) rmSync(p, { recursive: true, force: true });
  };
  cleanup();
  const wh = await Warehouse.open({ path: db, memoryLimit: options.memoryLimit });
  try {
    const shape = await setupMembers(wh, options.members);
    const expectedAdds = shape.newMembers + shape.changed;
    const expectedRemoves = shape.changed + shape.left;
    let plan: Plan | undefined;
    const clear = async () => {
      if (plan) await dropPlan(wh, plan);
      plan = undefined;
      await wh.run('DROP TABLE IF EXISTS bench_bare_plan');
    };
    const samples = await alternate(
      options.reps,
      () => wh.run(barePlanSql()),
      async () => {
        plan = await buildPlan(wh, {
          destination: DEST,
          audience: AUDIENCE,
          desiredSql: await metaDesiredSql(wh),
        });
      },
      clear,
    );
    // Keep the last retarget plan to check it.
    plan ??= await buildPlan(wh, {
      destination: DEST,
      audience: AUDIENCE,
      desiredSql: await metaDesiredSql(wh),
    });
    const planOk = plan.adds === expectedAdds && plan.removes === expectedRemoves;
    const minimum = await minimumRequests(wh, plan);
    await clear();
    const planning = ratioStage('sync_planning', samples, Number.POSITIVE_INFINITY, {
      members: shape.members,
      members_per_s: Math.round(shape.members / median(samples.retarget)),
      adds: expectedAdds,
      removes: expectedRemoves,
      plan_correct: planOk,
      note:
        'buildPlan(metaDesiredSql) vs a bare hand-written diff with minimal normalisation (same SHA-256 work); ' +
        'no ratio target in the issue: informational',
    });
    planning.target = null;
    planning.met = planOk ? null : false;
    if (!planOk)
      planning.note = `PLAN WRONG: expected +${expectedAdds} -${expectedRemoves}, got +${plan?.adds} -${plan?.removes}`;

    // The destination's own dry run: plan, unmatchable count, planned requests, samples.
    const destination = createMetaDestination(META);
    const started = performance.now();
    const report = await destination.sync({
      wh,
      runId: 'bench-sync',
      asOf: new Date(),
      dryRun: true,
      force: true,
      fullRefresh: false,
      audiences: [AUDIENCE],
      log: () => {},
    });
    const dryRunSeconds = (performance.now() - started) / 1000;
    const a = report.audiences[0];
    const requests = a?.requests ?? -1;
    const requestsStage: StageResult = {
      name: 'sync_requests',
      retarget_s: round(dryRunSeconds),
      baseline_s: null,
      ratio: null,
      target: minimum.total,
      met: requests === minimum.total && a?.adds === expectedAdds && a?.removes === expectedRemoves,
      value: requests,
      unit: 'requests',
      minimum,
      dry_run: { status: a?.status, adds: a?.adds, removes: a?.removes, message: a?.message },
      note: 'retarget_s = the Meta destination dry run (plan + unmatchable count + request planning); value = requests it plans, target = the minimum',
    };
    return [planning, requestsStage];
  } finally {
    wh.close();
    cleanup();
  }
}

/** Raw contact rows for customers [from, to): all with an email, most with a phone and an address. */
function contactsSql(from: number, to: number, emailVersion = "''"): string {
  return `SELECT 'm' || lpad(i::VARCHAR, 8, '0') AS customer_id,
      ' User.' || i || ${emailVersion} || '@Example.COM ' AS email,
      CASE WHEN i % 10 < 7 THEN '(' || (200 + i % 800) || ') 555-' || lpad((i % 10000)::VARCHAR, 4, '0') END AS phone,
      (['Mary', 'José', 'Chloé', 'Ahmed', 'Yuki'])[1 + i % 5] AS first_name,
      (['Smith', 'Müller', 'O''Brien', 'Nguyen'])[1 + i % 4] AS last_name,
      (['New York', 'Los Angeles', 'London', 'Paris'])[1 + i % 4] AS city,
      (['NY', 'California', NULL, NULL])[1 + i % 4] AS state,
      (['10001', '90001-1234', 'SW1A 1AA', '75001'])[1 + i % 4] AS zip,
      (['US', 'United States', 'GB', 'France'])[1 + i % 4] AS country
    FROM range(${from}, ${to}) r(i)`;
}

/** The Meta destination's desired rows for the audience (normalised and hashed into a temp table), as SQL. */
async function metaDesiredSql(wh: Warehouse): Promise<string> {
  await createMetaRows(wh, 'bench_meta_desired', audienceSourceSql('$1'), [AUDIENCE]);
  return 'SELECT customer_id, fingerprint, payload FROM bench_meta_desired WHERE usable';
}

async function setupMembers(wh: Warehouse, n: number): Promise<Shape> {
  const newMembers = Math.floor(n * 0.03);
  const left = Math.floor(n * 0.02);
  await wh.run(
    `INSERT INTO customers (customer_id, email, phone, first_name, last_name, city, state, zip, country, ads_consent)
     SELECT *, true FROM (${contactsSql(0, n)})`,
  );
  await wh.run(
    `INSERT INTO audience_members (audience, segment, customer_id, entered_at, attributes)
     SELECT $1, 'bench', customer_id, now()::TIMESTAMP, '{}' FROM customers`,
    [AUDIENCE],
  );
  // What Meta confirmed last time: members from newMembers on (1% of them with their old email), plus leavers.
  const oldEmail = "CASE WHEN i % 100 = 7 THEN '.old' ELSE '' END";
  const confirmedSource = contactsSql(newMembers, n, oldEmail);
  await createMetaRows(wh, 'bench_confirmed', confirmedSource);
  await createMetaRows(wh, 'bench_left', contactsSql(n, n + left));
  await wh.run(
    `INSERT INTO destination_members (destination, audience, customer_id, fingerprint, payload, synced_at)
     SELECT $1, $2, customer_id, fingerprint, payload, now()::TIMESTAMP FROM bench_confirmed
     UNION ALL
     SELECT $1, $2, customer_id, fingerprint, payload, now()::TIMESTAMP FROM bench_left`,
    [DEST, AUDIENCE],
  );
  for (const t of ['bench_confirmed', 'bench_left']) await wh.run(`DROP TABLE ${t}`);
  const changed = await wh.scalar(`SELECT count(*) FROM range(${newMembers}, ${n}) r(i) WHERE i % 100 = 7`);
  await wh.run(
    `INSERT INTO destination_audiences (destination, audience, external_id, created_at, last_synced_at, last_synced_size, status)
     VALUES ($1, $2, $3, now()::TIMESTAMP, now()::TIMESTAMP, $4, 'active')`,
    [DEST, AUDIENCE, EXTERNAL_ID, n - newMembers + left],
  );
  return { members: n, newMembers, changed, left };
}

/**
 * The bare diff: a hand-written normalisation (trim/lowercase, digits-only phone with a US prefix) and the same
 * nine-field hashing and anti-joins, with no lookups (countries, states) or validation. A lower bound.
 */
function barePlanSql(): string {
  const h = (e: string) => `coalesce(sha256(nullif(${e}, '')), '')`;
  return `CREATE OR REPLACE TEMP TABLE bench_bare_plan AS
    WITH src AS (
      SELECT c.* FROM audience_members m JOIN customers c USING (customer_id)
      WHERE m.audience = '${AUDIENCE}' AND c.ads_consent
    ),
    rows AS (
      SELECT customer_id, [customer_id,
        ${h('lower(trim(email))')},
        ${h("'1' || regexp_replace(phone, '[^0-9]', '', 'g')")},
        ${h("regexp_replace(lower(first_name), '[^a-z]', '', 'g')")},
        ${h("regexp_replace(lower(last_name), '[^a-z]', '', 'g')")},
        ${h("regexp_replace(lower(city), '[^a-z]', '', 'g')")},
        ${h('lower(state)')}, ${h("replace(lower(zip), ' ', '')")}, ${h('lower(country)')}] AS r
      FROM src
    ),
    desired AS (SELECT customer_id, sha256(array_to_string(r, '|')) AS fingerprint, to_json(r)::VARCHAR AS payload FROM rows),
    confirmed AS (SELECT customer_id, fingerprint, payload FROM destination_members WHERE destination = '${DEST}' AND audience = '${AUDIENCE}')
    SELECT 'add' AS action, d.* FROM desired d ANTI JOIN confirmed c ON c.customer_id = d.customer_id AND c.fingerprint = d.fingerprint
    UNION ALL
    SELECT 'remove', c.* FROM confirmed c ANTI JOIN desired d ON c.customer_id = d.customer_id AND c.fingerprint = d.fingerprint
    ORDER BY action, customer_id`;
}

export interface MinimumRequests {
  adds: number;
  removes: number;
  total: number;
  /** Lower bound for removals from URL bytes alone: ceil(total row bytes / URL room per request). */
  remove_bytes_bound: number;
  max_url_bytes: number;
}

/**
 * The fewest requests the API allows for a plan, computed here, not by the destination: adds in batches of
 * 10,000; removals packed in plan order into batches of <= 10,000 rows whose URL (fixed part + URL-encoded JSON
 * rows, 3 bytes per separator) fits 32,000 bytes (the destination's default maxUrlBytes). Packing rows in order,
 * each batch as full as it can be, is optimal for ordered rows.
 */
async function minimumRequests(wh: Warehouse, plan: Plan): Promise<MinimumRequests> {
  const maxUrl = 32_000;
  const room = maxUrl - fixedDeleteUrlBytes(META.graphUrl, EXTERNAL_ID, META.accessToken);
  // encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) as is and turns every other ASCII byte into %XX.
  const sizes = await wh.all<{ bytes: number }>(
    `SELECT (length(payload) + 2 * length(regexp_replace(payload, '[A-Za-z0-9_.!~*''()-]', '', 'g')) + 3)::INTEGER AS bytes
     FROM "${plan.table}" WHERE action = 'remove' ORDER BY customer_id`,
  );
  let batches = 0;
  let rows = 0;
  let used = 0;
  for (const { bytes } of sizes) {
    if (rows === 0 || rows >= MAX_ROWS || used + bytes > room) {
      batches++;
      rows = 0;
      used = 0;
    }
    rows++;
    used += bytes;
  }
  const totalBytes = sizes.reduce((s, r) => s + r.bytes, 0);
  const adds = Math.ceil(plan.adds / MAX_ROWS);
  return {
    adds,
    removes: batches,
    total: adds + batches,
    remove_bytes_bound: Math.max(Math.ceil(plan.removes / MAX_ROWS), Math.ceil(totalBytes / room)),
    max_url_bytes: maxUrl,
  };
}
