import { chmodSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildAllAudiencesPlan, confirmAudiences, dropAllAudiencesPlan } from '../../../plans/plan-all.ts';
import type {
  AudienceSyncReport,
  Destination,
  DestinationReport,
  SyncContext,
} from '../../../plans/types.ts';
import { CONTACT_COLUMNS } from '../../../warehouse/table-specs.ts';
import { sqlIdent, sqlList, sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';

export interface CsvDestinationConfig {
  dir: string;
}

/** A safe file name for an audience ('category_browsers:Home & Garden' -> 'category_browsers--home-garden.csv'). */
export function audienceFileName(audience: string): string {
  const slug = audience
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/:/g, '--')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${slug || 'audience'}.csv`;
}

/**
 * The default destination: one CSV per audience (customer_id, contact fields, attributes) of consented members,
 * rewritten atomically when the audience changes. Files are readable by the owner only: they hold raw PII.
 * Every audience is planned in one set-based diff; only audiences that changed are written.
 */
export function createCsvDestination(config: CsvDestinationConfig): Destination {
  const name = 'csv';
  const dir = resolve(config.dir);
  return {
    name,
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      const { wh } = ctx;
      const plan = await buildAllAudiencesPlan(wh, {
        destination: name,
        audiences: ctx.audiences,
        desiredSql: `SELECT m.audience, m.customer_id,
                       md5(concat_ws(chr(31), ${CONTACT_COLUMNS.map((c) => `COALESCE(c.${c}, '')`).join(', ')},
                                     COALESCE(CAST(m.attributes AS VARCHAR), ''))) AS fingerprint,
                       NULL AS payload
                     FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
                     WHERE c.ads_consent`,
      });
      try {
        const reports: AudienceSyncReport[] = [];
        const written: string[] = [];
        let exportTable: string | undefined;
        const started = new Date();
        for (const a of plan.audiences) {
          const file = join(dir, audienceFileName(a.audience));
          const changed = a.adds + a.removes > 0 || !existsSync(file);
          const report: AudienceSyncReport = {
            audience: a.audience,
            status: 'unchanged',
            adds: a.adds,
            removes: a.removes,
            size: a.size,
          };
          if (changed && ctx.dryRun) report.status = 'planned';
          else if (changed) {
            exportTable ??= await stageExport(wh);
            await writeAudienceFile(wh, exportTable, a.audience, dir, file);
            written.push(a.audience);
            report.status = 'synced';
          }
          reports.push(report);
        }
        if (written.length > 0) {
          await wh.transaction(async () => {
            await confirmAudiences(wh, plan, written);
            await wh.run(
              `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, adds, removes, invalid_entries, status)
               SELECT $1, $2, audience, $3, now()::TIMESTAMP,
                      count(*) FILTER (WHERE action = 'add'), count(*) FILTER (WHERE action = 'remove'), 0, 'synced'
               FROM (SELECT unnest(${sqlList(written)}) AS audience) w LEFT JOIN ${sqlIdent(plan.table)} p USING (audience)
               GROUP BY audience`,
              [ctx.runId, name, started],
            );
          });
        }
        return { destination: name, audiences: reports };
      } finally {
        await dropAllAudiencesPlan(wh, plan);
        await wh.run(`DROP TABLE IF EXISTS ${EXPORT_TABLE}`);
      }
    },
  };
}

const EXPORT_TABLE = 'csv_export_rows';

/** Every consented member's export row, once, sorted by audience so each file's COPY reads only its own rows. */
async function stageExport(wh: Warehouse): Promise<string> {
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE ${EXPORT_TABLE} AS
     SELECT m.audience, m.customer_id, ${CONTACT_COLUMNS.map((c) => `c.${c}`).join(', ')},
            CAST(m.attributes AS VARCHAR) AS attributes
     FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
     WHERE c.ads_consent
     ORDER BY m.audience, m.customer_id`,
  );
  return EXPORT_TABLE;
}

async function writeAudienceFile(
  wh: Warehouse,
  rows: string,
  audience: string,
  dir: string,
  file: string,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await wh.run(
    `COPY (SELECT * EXCLUDE (audience) FROM ${rows} WHERE audience = ${sqlString(audience)} ORDER BY customer_id)
     TO ${sqlString(tmp)} (FORMAT csv, HEADER true)`,
  );
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
