import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { audienceLift } from '../metrics/lift.ts';
import {
  type MetricsOptions,
  metricsFacts,
  metricsWarnings,
  retentionMetrics,
} from '../metrics/retention.ts';
import { redact } from '../shared/redact.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { gatherHistory } from './gather.ts';
import { page } from './html.ts';
import { liftSection } from './lift-section.ts';
import { audiencesSection, cartSection, overlapSection, retentionSection, runsSection } from './sections.ts';

/**
 * `retarget report`: one self-contained HTML file of the audiences' history, their overlap, the retention
 * metrics, cart abandonment, holdout lift and the last runs (docs/report.md). Read-only on the database.
 */

/** The retention figures the report shows: the defaults of `retarget metrics`, so the two print the same. */
export const REPORT_METRICS: Omit<MetricsOptions, 'asOf'> = {
  period: 'quarter',
  periods: 4,
  activeWindowDays: 365,
  lifespanYears: 2,
};

/** Where the report goes unless told: report.html beside the database (data/report.html by default). */
export function defaultReportPath(database: string): string {
  return join(dirname(database), 'report.html');
}

export async function buildReport(wh: Warehouse, asOf: Date): Promise<string> {
  const metrics = await retentionMetrics(wh, { asOf, ...REPORT_METRICS });
  const warnings = metricsWarnings(metrics, await metricsFacts(wh, asOf));
  const history = await gatherHistory(wh, asOf);
  const lift = await audienceLift(wh, { asOf });
  return page('retarget report', `${basename(wh.path)} as of ${asOf.toISOString()}`, [
    audiencesSection(history),
    overlapSection(history),
    retentionSection(metrics, warnings),
    cartSection(metrics),
    liftSection(lift),
    runsSection(history.runs, history.syncs),
  ]);
}

/** Writes the page whole (a temporary file renamed over the old one): a browser never opens half a report. */
export async function writeReport(wh: Warehouse, asOf: Date, file: string): Promise<void> {
  const content = await buildReport(wh, asOf);
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  writeFileSync(partial, content);
  renameSync(partial, file);
}

/**
 * `report.afterRun`: the report of the database a run just wrote, on its open connection. Never throws: a report
 * that cannot be written is the run's warning, not its failure (the audiences were synced all the same).
 */
export async function reportAfterRun(
  wh: Warehouse,
  asOf: Date,
  out: string | undefined,
): Promise<{ file: string; error?: string }> {
  const file = resolve(out ?? defaultReportPath(wh.path));
  try {
    await writeReport(wh, asOf, file);
    return { file };
  } catch (err) {
    return { file, error: redact((err as Error).message ?? String(err)) };
  }
}
