import { join, resolve } from 'node:path';
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
import { dropExport, stageExport, writeAudienceFile } from './export.ts';
import { audienceFileName } from './file-names.ts';
import {
  describeFile,
  type FileRecord,
  loadFileRecords,
  outsideChange,
  saveFileRecords,
} from './file-records.ts';
import { claimFolder, defaultAudienceDir, type FolderOwner, removeStaleTempFiles } from './folder.ts';

export { audienceFileName } from './file-names.ts';

export interface CsvDestinationConfig {
  /** Audience folder; default `audiences/<database name>/` next to the database file. */
  dir?: string;
}

interface Failure {
  audience: string;
  message: string;
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
        desiredSql: `SELECT audience, customer_id,
                       md5(concat_ws(chr(31), ${CONTACT_COLUMNS.map((c) => `COALESCE(${c}, '')`).join(', ')},
                                     COALESCE(CAST(attributes AS VARCHAR), ''))) AS fingerprint,
                       NULL AS payload
                     FROM sendable_members`,
      });
      try {
        const started = new Date();
        const records = await loadFileRecords(wh);
        const written: FileRecord[] = [];
        const failed: Failure[] = [];
        let exportTable: string | undefined;
        const reports: AudienceSyncReport[] = [];
        for (const a of plan.audiences) {
          const file = join(dir, audienceFileName(a.audience));
          const report: AudienceSyncReport = summary(a);
          reports.push(report);
          const action = await fileAction(a, file, records.get(a.audience), ctx.fullRefresh);
          if (!action.write) continue;
          if (action.reason) report.message = action.reason;
          if (ctx.dryRun) {
            report.status = 'planned';
            continue;
          }
          try {
            exportTable ??= await stageExport(wh);
            await writeAudienceFile(wh, exportTable, a.audience, dir, file);
            written.push(await describeFile(a.audience, file));
            report.status = 'synced';
          } catch (err) {
            report.status = 'failed';
            report.message = `cannot write ${file}: ${(err as Error).message}`;
            failed.push({ audience: a.audience, message: report.message });
          }
        }
        await recordSync(wh, ctx.runId, plan, started, written, failed);
        return { destination: name, audiences: reports };
      } finally {
        await dropAllAudiencesPlan(wh, plan);
        await dropExport(wh);
      }
    },
  };
}

function summary(a: AudiencePlanSummary): AudienceSyncReport {
  return { audience: a.audience, status: 'unchanged', adds: a.adds, removes: a.removes, size: a.size };
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
  written: FileRecord[],
  failed: Failure[],
): Promise<void> {
  if (written.length + failed.length === 0) return;
  const names = written.map((r) => r.audience);
  await wh.transaction(async () => {
    await confirmAudiences(wh, plan, names);
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
    if (failed.length > 0) {
      await wh.run(
        `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, status, error)
         SELECT $1, $2, unnest(${sqlList(failed.map((f) => f.audience))}), $3, now()::TIMESTAMP, 'failed',
                unnest(${sqlList(failed.map((f) => f.message))})`,
        [runId, plan.destination, started],
      );
    }
  });
}
