import { resolve } from 'node:path';
import type { RetargetConfig } from '../../config/config.ts';
import { defaultReportPath, writeReport } from '../../report/build.ts';
import { defaultAsOf, openForReading } from './read.ts';

/** `retarget report`: the HTML report of the database, read-only (docs/report.md). */

export interface ReportFlags {
  db?: string;
  out?: string;
  asOf?: Date;
}

export async function reportCommand(config: RetargetConfig, flags: ReportFlags): Promise<void> {
  const database = flags.db ?? config.database;
  const out = resolve(flags.out ?? defaultReportPath(database));
  const wh = await openForReading(config, database);
  try {
    await writeReport(wh, await defaultAsOf(wh, flags.asOf), out);
  } finally {
    wh.close();
  }
  process.stdout.write(`report written to ${out}\n`);
}
