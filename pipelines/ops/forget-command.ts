import { latestRealAsOf } from '../../audiences/membership.ts';
import type { RetargetConfig } from '../../config/config.ts';
import type { RunSummary } from '../run.ts';
import { runPipeline } from '../run.ts';
import type { CliContext } from './commands.ts';
import { type ForgetHolder, type ForgetResult, forgetCustomer, forgetHolders } from './forget.ts';
import { openWriter } from './writer.ts';

/**
 * `retarget forget <customer> [--sync]`: erase the person now; with --sync, remove them from every destination
 * at once and say so only when each destination confirmed it (exit 1 naming those that still hold them).
 */
export async function forgetCommand(
  cli: CliContext,
  subject: string,
  flags: { db?: string; sync?: boolean; json?: boolean },
): Promise<void> {
  const cfg = await cli.config();
  const database = flags.db ?? cfg.database;
  const writer = await openWriter({ path: database, memoryLimit: cfg.memoryLimit }, 'retarget forget');
  let result: ForgetResult;
  let asOf: Date | undefined;
  try {
    result = await forgetCustomer(writer.wh, subject);
    // Re-evaluate as of the latest real run: a later time would be a new night, an earlier one is refused.
    asOf = await latestRealAsOf(writer.wh);
    await writer.wh.run('CHECKPOINT');
  } finally {
    writer.close();
  }
  let summary: RunSummary | undefined;
  let holders: ForgetHolder[] = [];
  if (flags.sync) {
    summary = await runPipeline({ config: cfg, db: database, sources: [], asOf, trigger: 'forget' });
    holders = await stillHeldBy(cli, cfg, flags.db, result.requestId);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, sync: summary, heldBy: holders }, null, 2)}\n`);
  } else {
    process.stdout.write(`${describeForget(result, summary, holders)}\n`);
  }
  if (summary && (summary.status !== 'succeeded' || holders.length > 0)) cli.setExitCode(1);
}

async function stillHeldBy(
  cli: CliContext,
  cfg: RetargetConfig,
  db: string | undefined,
  requestId: string,
): Promise<ForgetHolder[]> {
  const wh = await cli.openForReading(cfg, db);
  try {
    return (await forgetHolders(wh)).filter((h) => h.requestId === requestId);
  } finally {
    wh.close();
  }
}

function describeForget(
  result: ForgetResult,
  summary: RunSummary | undefined,
  holders: ForgetHolder[],
): string {
  const removed = Object.entries(result.deleted)
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
  const lines = [
    `Forget request ${result.requestId} (${result.subjectKind} sha256 ${result.subjectHash.slice(0, 12)}…): ` +
      `${result.customers} customer(s) matched; removed ${removed || 'nothing (not stored yet)'}.`,
    'Recorded as a hash only: later loads of old files drop this person again.',
  ];
  if (!summary) {
    lines.push('Destinations drop them on the next run (or run `retarget forget … --sync` to do it now).');
    return lines.join('\n');
  }
  const removes = summary.destinations.flatMap((d) => d.audiences).reduce((n, a) => n + a.removes, 0);
  lines.push(
    `Synced now (run ${summary.runId}, ${summary.status}): ${removes} removal(s) sent to destinations.`,
  );
  if (holders.length > 0) {
    const where = holders.map((h) => `${h.destination} (${h.audiences} audience(s))`).join(', ');
    lines.push(
      `NOT removed yet from: ${where}. The request stays pending and every run retries it; ` +
        `see \`retarget runs ${summary.runId}\` for why.`,
    );
  }
  return lines.join('\n');
}
