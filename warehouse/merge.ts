import type { TableSpec } from './table-specs.ts';
import { sqlIdent, sqlString, timestampLiteral } from './values.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * Merges a staged batch (ingest.ts) into its raw table. For keyed tables the newest row for a key wins: the
 * newer export time of its file, then (same file) the later row. Stored rows keep their export time, so an older
 * file read later never overrides a newer row; customers carry their version (their own `updated_at`, else that
 * export time) and never get consent back from an old record. The keyed tables have no primary-key index
 * (migration 0041: in DuckDB it cost more than the whole rest of their load): the merge itself keeps one row per
 * key, deleting the stored rows its winners replace, then inserting them.
 */

/** When a source (e.g. a file) was exported. */
export interface ExportTime {
  at: Date;
  /** Only a modification time, which a copy or a touch changes: an old file can look new. */
  approximate: boolean;
}

/** Export time per `_source`; sources without one count as exported (approximately) at load time. */
export type SourceTimes = ReadonlyMap<string, ExportTime>;

export async function merge(
  wh: Warehouse,
  spec: TableSpec,
  staging: string,
  times: SourceTimes,
  /**
   * Whether a key may repeat among the batch's good rows (ingest.ts checks once per batch): de-duplicating costs a
   * window over every row, and most batches have no repeated key. 'unchecked': a first load of events read straight
   * from its files, whose inserted rows are checked instead (mergeEvents).
   */
  repeats: boolean | 'unchecked',
): Promise<number> {
  const key = spec.key.map(sqlIdent).join(', ');
  switch (spec.merge) {
    case 'upsert':
      // Export times order a key's rows in the batch, and the batch's newest row against the stored one.
      return withSourceTimes(wh, staging, times, (good) =>
        spec.versioned
          ? mergeCustomers(wh, spec, good, repeats !== false, `${staging}_new`)
          : replaceOlderRows(
              wh,
              spec,
              `SELECT ${columns(spec)}, _exported_at AS exported_at ${good}
               ${repeats ? `QUALIFY ${newestFirst(key, '_exported_at')} = 1` : ''}`,
            ),
      );
    case 'events':
      return mergeEvents(wh, spec, sqlIdent(staging), `${staging}_seen`, repeats);
    case 'distinct':
      return wh.run(
        `INSERT INTO ${sqlIdent(spec.name)} (${columns(spec)})
         SELECT DISTINCT ${columns(spec)} FROM ${sqlIdent(staging)} WHERE _reason IS NULL
         EXCEPT SELECT ${columns(spec)} FROM ${sqlIdent(spec.name)}`,
      );
  }
}

/** SQL for a row's key, e.g. in a GROUP BY. */
export function keySql(spec: TableSpec): string {
  return spec.keyExpression ?? spec.key.map(sqlIdent).join(', ');
}

function columns(spec: TableSpec): string {
  return spec.columns.map((c) => sqlIdent(c.name)).join(', ');
}

/**
 * Replaces the stored rows of a keyed table whose key is in `keys` (SQL yielding the key columns) by `rows` (SQL
 * yielding at most one row per key, in the table's column order). Nothing stored (a first load): a plain insert,
 * no delete to plan.
 */
async function replaceRows(wh: Warehouse, spec: TableSpec, keys: string, rows: string): Promise<number> {
  const table = sqlIdent(spec.name);
  if (await hasRows(wh, spec.name))
    await wh.run(`DELETE FROM ${table} USING (${keys}) k WHERE ${keysMatch(spec, table, 'k')}`);
  return insertRows(wh, spec, rows);
}

/**
 * Writes `winners` (SQL yielding at most one row per key, in the table's column order, `exported_at` last) over the
 * stored rows, except where a stored row came from a later export: an older file read after a newer one (arriving
 * late, or re-read after a copy or a touch while its name keeps its date) leaves the newer row as it is. A stored
 * row without an export time (loaded before migration 0051) is replaced by any version.
 */
async function replaceOlderRows(wh: Warehouse, spec: TableSpec, winners: string): Promise<number> {
  const table = sqlIdent(spec.name);
  if (!(await hasRows(wh, spec.name))) return insertRows(wh, spec, winners);
  const keys = spec.key.map(sqlIdent).join(', ');
  await wh.run(
    `DELETE FROM ${table} USING (SELECT ${keys}, exported_at FROM (${winners})) w
     WHERE ${keysMatch(spec, table, 'w')} AND (${table}.exported_at IS NULL OR ${table}.exported_at <= w.exported_at)`,
  );
  // What is still stored under a winner's key came from a later export: it stays, and the winner is dropped.
  return insertRows(
    wh,
    spec,
    `SELECT * FROM (${winners}) w WHERE NOT EXISTS (SELECT 1 FROM ${table} s WHERE ${keysMatch(spec, 's', 'w')})`,
  );
}

/** Inserts `rows` (in the table's column order), stamped with a new load number where the table keeps one. */
async function insertRows(wh: Warehouse, spec: TableSpec, rows: string): Promise<number> {
  const table = sqlIdent(spec.name);
  if (!spec.stampsLoad) return wh.run(`INSERT INTO ${table} (${targetColumns(spec)}) ${rows}`);
  const seq = await wh.scalar("SELECT nextval('raw_load_seq')");
  return wh.run(`INSERT INTO ${table} (${targetColumns(spec)}, load_seq) SELECT *, ${seq} FROM (${rows})`);
}

/** SQL matching the key columns of two row sources, e.g. `orders.order_id = w.order_id`. */
function keysMatch(spec: TableSpec, a: string, b: string): string {
  return spec.key.map((k) => `${a}.${sqlIdent(k)} = ${b}.${sqlIdent(k)}`).join(' AND ');
}

/** The columns a merge writes: the spec's, plus the stored row's export time for keyed tables. */
function targetColumns(spec: TableSpec): string {
  return spec.merge === 'upsert' ? `${columns(spec)}, exported_at` : columns(spec);
}

/** Whether a table holds any row (one row read, not counted). */
export async function hasRows(wh: Warehouse, table: string): Promise<boolean> {
  return (await wh.scalar(`SELECT count(*) FROM (SELECT 1 FROM ${sqlIdent(table)} LIMIT 1)`)) > 0;
}

/**
 * Ranks a key's rows, newest first: by version time, then the file's export time, then the file's name (two
 * files exported at the same time: the later name wins, as files are listed), then the row's place in its file
 * (`_pos`, set only when a file repeats a key).
 */
function newestFirst(key: string, versionAt: string): string {
  return `row_number() OVER (PARTITION BY ${key} ORDER BY ${versionAt} DESC, _exported_at DESC, _source DESC, _pos DESC)`;
}

/** Runs fn with the good staged rows and their `_exported_at`, as a FROM clause. */
async function withSourceTimes<T>(
  wh: Warehouse,
  staging: string,
  times: SourceTimes,
  fn: (good: string) => Promise<T>,
): Promise<T> {
  const table = `${staging}_times`;
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(table)} (source VARCHAR, exported_at TIMESTAMP, approximate BOOLEAN)`,
  );
  try {
    if (times.size > 0)
      await wh.run(
        `INSERT INTO ${sqlIdent(table)} VALUES ${[...times]
          .map(([source, t]) => `(${sqlString(source)}, ${timestampLiteral(t.at)}, ${t.approximate})`)
          .join(', ')}`,
      );
    return await fn(
      `FROM (SELECT s.*, COALESCE(t.exported_at, now()::TIMESTAMP) AS _exported_at,
                    COALESCE(t.approximate, true) AS _approximate
             FROM ${sqlIdent(staging)} s LEFT JOIN ${sqlIdent(table)} t ON t.source = s._source
             WHERE s._reason IS NULL)`,
    );
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(table)}`);
  }
}

/**
 * Customers: a version's time is its `updated_at` when the export has one, else its file's export time. A stored
 * customer is replaced only by a version at least as new; at exactly the same version a withdrawal stays (false
 * wins). Every version read is remembered by fingerprint with the time it was first seen: when a version's time is
 * only a modification time, a version already seen (an old file re-read, restored or copied, in this batch or an
 * earlier one) keeps that first time, so it never looks newer than it is, and never grants consent that the
 * stored version withdrew.
 */
async function mergeCustomers(
  wh: Warehouse,
  spec: TableSpec,
  good: string,
  repeats: boolean,
  /** A scratch table for the winning versions, which must be known before the stored ones are deleted. */
  winners: string,
): Promise<number> {
  const [nv, cv] = [
    'n._version_at',
    `COALESCE(${versionOf('c.updated_at', 'c.exported_at')}, c.exported_at)`,
  ];
  const select = spec.columns.map((c) =>
    c.name === 'ads_consent'
      ? `CASE WHEN ${nv} = ${cv} THEN n.ads_consent AND c.ads_consent ELSE n.ads_consent END AS ads_consent`
      : `n.${sqlIdent(c.name)}`,
  );
  const newest = repeats ? `QUALIFY ${newestFirst('customer_id', '_version_at')} = 1` : '';
  const winning = `WITH b AS (${versionedSql(good, repeats)}),
     -- Grants of consent the stored customer withdrew, by a version already seen, from a file dated only by its
     -- modification time: an old file re-read or copied. Few rows: only these are looked up in the versions.
     replays AS (
       SELECT b.customer_id, b._fingerprint
       FROM b JOIN customers c ON c.customer_id = b.customer_id
       WHERE b._approximate AND b.updated_at IS NULL AND b.ads_consent AND NOT c.ads_consent
     ),
     seen AS (
       SELECT r.* FROM replays r
       JOIN customer_versions v ON v.customer_id = r.customer_id AND v.fingerprint = r._fingerprint
     ),
     n AS (
       SELECT b.* FROM b ANTI JOIN seen ON seen.customer_id = b.customer_id AND seen._fingerprint = b._fingerprint
       ${newest}
     )
     SELECT ${select.join(', ')},
            CASE WHEN n.updated_at IS NULL THEN n._version_at ELSE n._exported_at END AS exported_at
     FROM n LEFT JOIN customers c ON c.customer_id = n.customer_id
     WHERE c.customer_id IS NULL OR c.exported_at IS NULL OR ${nv} > ${cv}
        OR (${nv} = ${cv} AND n._exported_at >= c.exported_at)`;
  const loaded = await replaceCustomers(wh, spec, winning, winners);
  await wh.run(
    `INSERT INTO customer_versions (customer_id, fingerprint, first_seen_at)
     SELECT customer_id, _fingerprint, min(_version_at) FROM (${versionedSql(good, repeats)}) b
     WHERE NOT EXISTS (SELECT 1 FROM customer_versions v
                       WHERE v.customer_id = b.customer_id AND v.fingerprint = b._fingerprint)
     GROUP BY customer_id, _fingerprint`,
  );
  return loaded;
}

/**
 * Writes the winning customer versions (`winning`: SQL reading the stored customers). Nothing stored: inserted
 * directly; else kept in the scratch table `winners` first, as deleting the rows they replace changes what
 * `winning` reads.
 */
async function replaceCustomers(
  wh: Warehouse,
  spec: TableSpec,
  winning: string,
  winners: string,
): Promise<number> {
  if (!(await hasRows(wh, 'customers')))
    return wh.run(`INSERT INTO customers (${targetColumns(spec)}) ${winning}`);
  const w = sqlIdent(winners);
  await wh.run(`CREATE OR REPLACE TEMP TABLE ${w} AS ${winning}`);
  try {
    return await replaceRows(wh, spec, `SELECT customer_id FROM ${w}`, `SELECT * FROM ${w}`);
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${w}`);
  }
}

/**
 * A customer's version time from their own `updated_at`, never more than a day after the export that carried it: a
 * record cannot change after it was exported (the day covers a file dated by its name, at midnight, holding that
 * day's changes). A date in the future (a clock or time-zone error, a placeholder such as 2099-01-01) would
 * otherwise outrank every later record, withdrawals of consent included, for good.
 */
function versionOf(updatedAt: string, exportedAt: string): string {
  // least() skips NULLs: without an updated_at there is no version of the record's own.
  return `CASE WHEN ${updatedAt} IS NOT NULL THEN least(${updatedAt}, ${exportedAt} + INTERVAL 1 DAY) END`;
}

/**
 * The good rows with `_version_at`: `updated_at` when the export has one; for a file dated only by its
 * modification time, the earliest time the same version was seen (stored, or in this batch); else the export time.
 */
function versionedSql(good: string, repeats: boolean): string {
  // A customer held once in the batch is its own earliest sighting in it: no window to sort 1M rows by.
  const inBatch = repeats
    ? 'min(b0._exported_at) OVER (PARTITION BY b0.customer_id, b0._fingerprint)'
    : 'b0._exported_at';
  return `SELECT b0.*, CASE
            WHEN b0.updated_at IS NOT NULL THEN ${versionOf('b0.updated_at', 'b0._exported_at')}
            WHEN b0._approximate THEN least(
              (SELECT min(v.first_seen_at) FROM customer_versions v
               WHERE v.customer_id = b0.customer_id AND v.fingerprint = b0._fingerprint),
              ${inBatch})
            ELSE b0._exported_at END AS _version_at
          FROM (SELECT * ${good}) b0`;
}

/**
 * Events: insert those whose key (`keySql`: the event_id, else the hash in event_key) is new. `batch` is a FROM item
 * (the staged table, or the view of a first load's files); `seen` names a scratch table. `repeats`: a key may
 * repeat among the batch's good rows.
 */
async function mergeEvents(
  wh: Warehouse,
  spec: TableSpec,
  batch: string,
  seen: string,
  repeats: boolean | 'unchecked',
): Promise<number> {
  const key = keySql(spec);
  const good = `FROM ${batch} WHERE _reason IS NULL`;
  const insert = (distinct: boolean) =>
    `INSERT INTO events (${columns(spec)}, event_key) SELECT ${distinct ? `DISTINCT ON (${key}) ` : ''}${columns(spec)}, event_key`;
  // Nothing stored yet (a first load): nothing to probe, and a probe would read the batch once more.
  if (!(await hasRows(wh, 'events'))) {
    if (repeats !== 'unchecked') return wh.run(`${insert(repeats)} ${good}`);
    return (await wh.run(`${insert(false)} ${good}`)) - (await dropRepeatedEvents(wh, key));
  }
  // Probe the big table with the batch's keys (the small side builds the hash table), then insert the rest. A key
  // in `seen` is never NULL (NULL IN (...) is not true), so NOT IN below cannot turn unknown.
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${sqlIdent(seen)} AS
     SELECT DISTINCT k FROM (SELECT ${key} AS k FROM events) WHERE k IN (SELECT ${key} ${good})`,
  );
  try {
    return await wh.run(
      `${insert(repeats !== false)} ${good} AND ${key} NOT IN (SELECT k FROM ${sqlIdent(seen)})`,
    );
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(seen)}`);
  }
}

/**
 * Keeps one row of each key the table holds more than once (the same event, read twice), in the transaction that
 * inserted them; returns the rows deleted. Checking the inserted rows (4.3-4.8 s for 20M events, uncommitted) costs
 * less than checking the files before (7.5-8.9 s: read and validated once more).
 */
async function dropRepeatedEvents(wh: Warehouse, key: string): Promise<number> {
  const repeated = `SELECT 1 FROM events GROUP BY ${key} HAVING count(*) > 1 LIMIT 1`;
  if ((await wh.scalar(`SELECT count(*) FROM (${repeated})`)) === 0) return 0;
  return wh.run(
    `DELETE FROM events WHERE rowid IN
       (SELECT rowid FROM events QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY rowid) > 1)`,
  );
}
