import { join, resolve } from 'node:path';
import { privacyRemovalSql, privacyRemovesByAudience, shrinkHold } from '../../../plans/guard.ts';
import {
  type AllAudiencesPlan,
  type AudiencePlanSummary,
  buildAllAudiencesPlan,
  confirmAudiences,
  dropAllAudiencesPlan,
} from '../../../plans/plan-all.ts';
import type {
  AudienceSyncReport,
  Destination,
  DestinationReport,
  SyncContext,
} from '../../../plans/types.ts';
import { CONTACT_COLUMNS } from '../../../warehouse/table-specs.ts';
import { sqlIdent, sqlList } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { dropExport, stageExport, stageHeldExport, writeAudienceFile } from './export.ts';
import { audienceFileName } from './file-names.ts';
import {
  describeFile,
  type FileRecord,
  loadFileRecords,
  outsideChange,
  saveFileRecords,
} from './file-records.ts';
import { claimFolder, defaultAudienceDir, type FolderOwner, removeStaleTempFiles } from './folder.ts';
import { TEXT_FILE_MAX_ROWS, writeTextFiles } from './text-files.ts';

export { audienceFileName } from './file-names.ts';

/**
 * What a member's row in the file depends on: its contact fields and attributes. DuckDB's 64-bit hash of the
 * columns themselves, so a field going from missing to empty (two different cells) changes it too. It is about
 * twice as fast as an MD5 of the joined text, which it replaced: the one run after that change rewrote every file
 * once, and a DuckDB upgrade that changed hash() would too (same bytes, one needless write each).
 */
const FINGERPRINT = `CAST(hash(${[...CONTACT_COLUMNS, 'CAST(attributes AS VARCHAR)'].join(', ')}) AS VARCHAR)`;

export interface CsvDestinationConfig {
  /** Audience folder; default `audiences/<database name>/` next to the database file. */
  dir?: string;
  /** Largest drop of an audience's file, as a share of what it held, written without --force (default 0.5). */
  maxShrink?: number;
}

interface Failure {
  audience: string;
  message: string;
}

/** An audience the shrink guard held; `privacyRemoves` of its members were still taken out of its file. */
interface Held {
  audience: string;
  message: string;
  privacyRemoves: number;
}

/**
 * The default destination: one CSV per audience (customer_id, contact fields, attributes) of consented members,
 * rewritten atomically when the audience changed, when its file was changed or deleted outside retarget, or on
 * --full-refresh. Every audience is planned in one set-based diff. The folder belongs to one database; an
 * audience whose file cannot be written is reported failed and the others are still written.
 */
export function createCsvDestination(config: CsvDestinationConfig): Destination {
  const name = 'csv';
  return {
    name,
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      const { wh } = ctx;
      const dir = config.dir ? resolve(config.dir) : defaultAudienceDir(wh.path);
      claimFolder(dir, await folderOwner(wh), ctx.dryRun);
      if (!ctx.dryRun) {
        const stale = removeStaleTempFiles(dir);
        if (stale > 0) ctx.log(`csv: removed ${stale} temp file(s) an interrupted run left in ${dir}`);
      }
      const plan = await buildAllAudiencesPlan(wh, {
        destination: name,
        audiences: ctx.audiences,
        desiredSql: `SELECT audience, customer_id, ${FINGERPRINT} AS fingerprint, NULL AS payload FROM sendable_members`,
      });
      try {
        const started = new Date();
        const records = await loadFileRecords(wh);
        const held = await heldAudiences(wh, plan, config.maxShrink ?? 0.5, ctx.force);
        const written: FileRecord[] = [];
        const failed: Failure[] = [];
        const staged: { current?: string; held?: string } = {};
        const reports: AudienceSyncReport[] = [];
        const actions = new Map<string, { write: boolean; reason?: string }>();
        for (const a of plan.audiences) {
          const hold = held.get(a.audience);
          const file = join(dir, audienceFileName(a.audience));
          actions.set(
            a.audience,
            hold
              ? { write: hold.privacyRemoves > 0, reason: hold.message }
              : await fileAction(a, file, records.get(a.audience), ctx.fullRefresh),
          );
        }
        // Only the files to write are staged: on a quiet night most audiences are left alone.
        const fresh = plan.audiences.filter((a) => !held.has(a.audience) && actions.get(a.audience)?.write);
        const stage = async (kind: 'current' | 'held') => {
          staged[kind] ??=
            kind === 'held'
              ? await stageHeldExport(wh, name, [...held.keys()])
              : await stageExport(
                  wh,
                  fresh.map((f) => f.audience),
                );
          return staged[kind];
        };
        const texts = ctx.dryRun ? new Map() : await writeSmallFiles(wh, () => stage('current'), fresh, dir);
        for (const a of plan.audiences) {
          const file = join(dir, audienceFileName(a.audience));
          const report: AudienceSyncReport = summary(a);
          reports.push(report);
          const hold = held.get(a.audience);
          const action = actions.get(a.audience)!;
          if (hold) report.status = 'held';
          if (action.reason) report.message = action.reason;
          if (!action.write) continue;
          if (ctx.dryRun) {
            report.status = hold ? 'held' : 'planned';
            continue;
          }
          try {
            let record = texts.get(a.audience);
            if (record instanceof Error) throw record;
            if (!record) {
              await writeAudienceFile(wh, await stage(hold ? 'held' : 'current'), a.audience, dir, file);
              record = await describeFile(a.audience, file);
            }
            written.push(record);
            report.status = hold ? 'held' : 'synced';
            if (hold) report.message = `${hold.message}; wrote its ${hold.privacyRemoves} privacy removal(s)`;
          } catch (err) {
            report.status = 'failed';
            report.message = `cannot write ${file}: ${(err as Error).message}`;
            failed.push({ audience: a.audience, message: report.message });
          }
        }
        if (!ctx.dryRun) await recordSync(wh, ctx.runId, plan, started, { written, failed, held });
        return { destination: name, audiences: reports };
      } finally {
        await dropAllAudiencesPlan(wh, plan);
        await dropExport(wh);
      }
    },
  };
}

/**
 * Writes the small files among `fresh` (text-files.ts): a query per 100,000 rows instead of a COPY and a read-back
 * each. A failure to stage their rows fails each of them, as it would have failed each COPY.
 */
async function writeSmallFiles(
  wh: Warehouse,
  stage: () => Promise<string>,
  fresh: AudiencePlanSummary[],
  dir: string,
): Promise<Map<string, FileRecord | Error>> {
  const small = fresh
    .filter((a) => a.size <= TEXT_FILE_MAX_ROWS)
    .map((a) => ({ audience: a.audience, file: join(dir, audienceFileName(a.audience)), rows: a.size }));
  if (small.length === 0) return new Map();
  try {
    return await writeTextFiles(wh, await stage(), small, dir);
  } catch (err) {
    return new Map(small.map((f) => [f.audience, err as Error]));
  }
}

function summary(a: AudiencePlanSummary): AudienceSyncReport {
  return { audience: a.audience, status: 'unchanged', adds: a.adds, removes: a.removes, size: a.size };
}

/**
 * Audiences the shrink guard holds (plans/guard.ts): a sudden collapse of a file is more likely a broken feed
 * than real churn. Privacy removals never count as shrink, and are still written.
 */
async function heldAudiences(
  wh: Warehouse,
  plan: AllAudiencesPlan,
  maxShrink: number,
  force: boolean,
): Promise<Map<string, Held>> {
  const held = new Map<string, Held>();
  if (force) return held;
  // Privacy removals only ever shrink the base the drop is measured on, so an audience that passes without them
  // passes with them: they are counted (a scan of every confirmed member) only when some audience might be held.
  const suspects = plan.audiences.filter((a) =>
    shrinkHold({ lastSize: a.previousSize, size: a.size, privacyRemoves: 0, maxShrink }),
  );
  if (suspects.length === 0) return held;
  const privacy = await privacyRemovesByAudience(wh, plan.destination);
  for (const a of suspects) {
    const privacyRemoves = privacy.get(a.audience) ?? 0;
    const message = shrinkHold({ lastSize: a.previousSize, size: a.size, privacyRemoves, maxShrink });
    if (message) held.set(a.audience, { audience: a.audience, message, privacyRemoves });
  }
  return held;
}

/** Whether an audience's file is (re)written, and why when its members did not change. */
async function fileAction(
  a: AudiencePlanSummary,
  file: string,
  record: FileRecord | undefined,
  fullRefresh: boolean,
): Promise<{ write: boolean; reason?: string }> {
  if (fullRefresh || a.adds + a.removes > 0) return { write: true };
  const reason = await outsideChange(file, record);
  return { write: reason !== undefined, reason };
}

async function folderOwner(wh: Warehouse): Promise<FolderOwner> {
  const row = await wh.one<{ database_id: string }>('SELECT database_id FROM database_identity');
  if (!row) throw new Error('csv: the database has no identity row (database_identity is empty)');
  return { database_id: row.database_id, database: wh.path === ':memory:' ? wh.path : resolve(wh.path) };
}

/** Confirms what was written (members, file records, sync rows) in one transaction, and records the failures. */
async function recordSync(
  wh: Warehouse,
  runId: string,
  plan: AllAudiencesPlan,
  started: Date,
  outcome: { written: FileRecord[]; failed: Failure[]; held: Map<string, Held> },
): Promise<void> {
  const { written, failed, held } = outcome;
  if (written.length + failed.length + held.size === 0) return;
  const names = written.map((r) => r.audience).filter((a) => !held.has(a));
  // A held audience whose file was rewritten lost exactly its privacy removals.
  const pruned = written.map((r) => r.audience).filter((a) => held.has(a));
  await wh.transaction(async () => {
    await confirmAudiences(wh, plan, names);
    if (pruned.length > 0)
      await wh.run(
        `DELETE FROM destination_members dm WHERE dm.destination = $1
         AND dm.audience IN (SELECT unnest(${sqlList(pruned)})) AND ${privacyRemovalSql('dm.customer_id')}`,
        [plan.destination],
      );
    await saveFileRecords(wh, runId, written);
    if (names.length > 0) {
      await wh.run(
        `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, adds, removes, invalid_entries, status)
         SELECT $1, $2, audience, $3, now()::TIMESTAMP,
                count(*) FILTER (WHERE action = 'add'), count(*) FILTER (WHERE action = 'remove'), 0, 'synced'
         FROM (SELECT unnest(${sqlList(names)}) AS audience) w LEFT JOIN ${sqlIdent(plan.table)} p USING (audience)
         GROUP BY audience`,
        [runId, plan.destination, started],
      );
    }
    // A held audience whose file could not be written is recorded once, as failed.
    const rows = [
      ...[...held.values()]
        .filter((h) => !failed.some((f) => f.audience === h.audience))
        .map((h) => ({
          audience: h.audience,
          status: 'held',
          removes: String(pruned.includes(h.audience) ? h.privacyRemoves : 0),
          message: h.message,
        })),
      ...failed.map((f) => ({ audience: f.audience, status: 'failed', removes: '0', message: f.message })),
    ];
    if (rows.length > 0) {
      const column = (k: 'audience' | 'status' | 'removes' | 'message') =>
        `unnest(${sqlList(rows.map((r) => r[k]))})`;
      await wh.run(
        `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, removes, status, error)
         SELECT $1, $2, ${column('audience')}, $3, now()::TIMESTAMP, CAST(${column('removes')} AS BIGINT),
                ${column('status')}, ${column('message')}`,
        [runId, plan.destination, started],
      );
    }
  });
}
