import { chmodSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildPlan, confirmPlan, dropPlan } from '../../../plans/plan.ts';
import type {
  AudienceSyncReport,
  Destination,
  DestinationReport,
  SyncContext,
} from '../../../plans/types.ts';
import { CONTACT_COLUMNS } from '../../../warehouse/table-specs.ts';
import { sqlString } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';

export interface CsvDestinationConfig {
  dir: string;
}

/** Audiences that may be sent: current members with a customers row and ads consent. */
export function consentedMembersSql(audienceParam: string): string {
  return `SELECT m.customer_id, m.attributes, ${CONTACT_COLUMNS.map((c) => `c.${c}`).join(', ')}
          FROM audience_members m JOIN customers c ON c.customer_id = m.customer_id
          WHERE m.audience = ${audienceParam} AND c.ads_consent`;
}

/** Every audience a destination must look at: current ones, and ones it still holds members of. */
export async function audiencesToSync(
  wh: Warehouse,
  destination: string,
  only?: string[],
): Promise<string[]> {
  const rows = await wh.all<{ audience: string }>(
    `SELECT DISTINCT audience FROM audience_members
     UNION SELECT DISTINCT audience FROM destination_members WHERE destination = $1
     ORDER BY audience`,
    [destination],
  );
  const names = rows.map((r) => r.audience);
  return only ? names.filter((a) => only.includes(a)) : names;
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
 */
export function createCsvDestination(config: CsvDestinationConfig): Destination {
  const name = 'csv';
  const dir = resolve(config.dir);
  return {
    name,
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      const { wh } = ctx;
      const reports: AudienceSyncReport[] = [];
      for (const audience of await audiencesToSync(wh, name, ctx.audiences)) {
        const file = join(dir, audienceFileName(audience));
        const plan = await buildPlan(wh, {
          destination: name,
          audience,
          desiredSql: `SELECT customer_id, md5(concat_ws(chr(31), ${CONTACT_COLUMNS.map((c) => `COALESCE(${c}, '')`).join(', ')}, COALESCE(CAST(attributes AS VARCHAR), ''))) AS fingerprint, NULL AS payload
                       FROM (${consentedMembersSql('$1')})`,
          desiredParams: [audience],
        });
        try {
          const changed = plan.adds + plan.removes > 0 || !existsSync(file);
          const report: AudienceSyncReport = {
            audience,
            status: 'unchanged',
            adds: plan.adds,
            removes: plan.removes,
            size: plan.size,
          };
          if (ctx.dryRun) report.status = changed ? 'planned' : 'unchanged';
          else if (changed) {
            const started = new Date();
            await writeAudienceFile(wh, audience, dir, file);
            await wh.transaction(async () => {
              await confirmPlan(wh, plan);
              await wh.run(
                `INSERT INTO destination_syncs (run_id, destination, audience, started_at, finished_at, adds, removes, invalid_entries, status)
                 VALUES ($1, $2, $3, $4, now()::TIMESTAMP, $5, $6, 0, 'synced')`,
                [ctx.runId, name, audience, started, plan.adds, plan.removes],
              );
            });
            report.status = 'synced';
          }
          reports.push(report);
        } finally {
          await dropPlan(wh, plan);
        }
      }
      return { destination: name, audiences: reports };
    },
  };
}

async function writeAudienceFile(wh: Warehouse, audience: string, dir: string, file: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await wh.run(
    `COPY (SELECT customer_id, ${CONTACT_COLUMNS.join(', ')}, CAST(attributes AS VARCHAR) AS attributes
           FROM (${consentedMembersSql(sqlString(audience))}) ORDER BY customer_id)
     TO ${sqlString(tmp)} (FORMAT csv, HEADER true)`,
  );
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
