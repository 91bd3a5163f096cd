import { resolve } from 'node:path';
import { evaluateSegments, type SegmentEvaluation } from '../audiences/evaluate.ts';
import { holdoutShares, unknownHoldoutNames } from '../audiences/holdouts.ts';
import { emptiedAudiences, segmentOfSql, storeMembership } from '../audiences/membership.ts';
import { loadSegmentFiles, type SegmentFileFailure } from '../dsl/index.ts';
import type { Destination } from '../plans/types.ts';
import { sqlList } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { markForgetRequestsSynced } from './ops/forget.ts';
import type { Reporter, RunRequest, RunSummary } from './run.ts';
import { StepError, type StepOutcome } from './run-records.ts';

/** What the evaluation half of a run shares with runPipeline. */
export interface RunState {
  wh: Warehouse;
  runId: string;
  asOf: Date;
  request: RunRequest;
  reporter: Reporter;
  /** The destinations to sync (the request's, else the configured ones). */
  destinations: Destination[];
  summary: RunSummary;
  /** Every failure of the run, in order: the run ends 'failed' naming each. */
  failures: Array<{ step: string; message: string }>;
  step<T extends StepOutcome>(name: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Segments -> membership -> destinations. A broken segment holds only its own audiences: their membership stays as
 * stored, and they are still synced, so removals that privacy requires (withdrawn consent, erasure) are never
 * held; one destination's failure never stops another; a dry run stores its evaluation marked as such.
 */
export async function evaluateAndSync(run: RunState): Promise<void> {
  const { wh, runId, asOf, request, reporter, summary, failures, step } = run;
  const { config } = request;
  const loaded = request.segments
    ? { segments: request.segments, failures: [] as SegmentFileFailure[] }
    : await step('segments:load', async () => {
        const files = await loadSegmentFiles(resolve(config.segments.dir));
        const segments = files.segments.filter((s) => !config.segments.disabled.includes(s.definition.name));
        const detail = files.failures.map((f) => ({ file: f.file, error: f.error.message }));
        return { rowsOut: segments.length, segments, failures: files.failures, detail };
      });
  for (const f of loaded.failures) failures.push({ step: 'segments:load', message: f.error.message });

  await step('segments:evaluate', async () => {
    summary.segments = await evaluateSegments(
      wh,
      loaded.segments,
      asOf,
      (done, total, name) => reporter.progress('segments:evaluate', done, total, name),
      { fullRefresh: request.fullRefresh },
    );
    return { rowsOut: summary.segments.reduce((n, s) => n + s.members, 0), detail: summary.segments };
  });
  for (const s of summary.segments.filter((x) => x.error))
    failures.push({ step: 'segments:evaluate', message: `${s.file}: ${s.error}` });
  summary.heldSegments = await heldSegments(wh, loaded.failures, summary.segments, config.segments.disabled);
  for (const name of summary.heldSegments)
    summary.warnings.push(
      `segment '${name}' held: its definition failed, so its audiences keep their stored members until it is fixed ` +
        '(only withdrawn consent, erasures and contact changes reach destinations meanwhile)',
    );

  const segmentNames = [
    ...loaded.segments.map((s) => s.definition.name),
    ...loaded.failures.flatMap((f) => f.segment ?? []),
    ...config.segments.disabled,
  ];
  for (const key of unknownHoldoutNames(config.holdouts, segmentNames))
    summary.warnings.push(
      `holdouts.audiences.${key} in the config names no segment, so nobody is held out for it`,
    );
  await step('audiences:store', async () => {
    summary.audiences = await storeMembership(wh, runId, asOf, {
      dryRun: summary.dryRun,
      heldSegments: summary.heldSegments,
      holdouts: holdoutShares(loaded.segments, config.holdouts),
    });
    return {
      rowsOut: summary.audiences.reduce((n, a) => n + a.members, 0),
      detail: summary.audiences.map(({ audience, members, entered, exited }) => ({
        audience,
        members,
        entered,
        exited,
      })),
    };
  });
  const evaluated = new Set(summary.segments.map((s) => s.segment));
  summary.emptied = emptiedAudiences(summary.audiences)
    .filter((a) => evaluated.has(a.segment)) // a removed or disabled segment empties on purpose
    .map((a) => ({ audience: a.audience, previousMembers: a.exited }));
  for (const a of summary.emptied)
    summary.warnings.push(
      `audience '${a.audience}' had ${a.previousMembers} member(s) and is now empty: check its segment's event ` +
        'names and categories (`retarget validate`) and the source data',
    );

  for (const destination of run.destinations) {
    // One destination's failure never stops the others: each is tried, every failure is reported.
    await syncDestination(run, destination).catch((err: unknown) => {
      if (!(err instanceof StepError)) throw err;
      summary.destinations.push({ destination: destination.name, audiences: [], error: err.message });
      failures.push({ step: `sync:${destination.name}`, message: err.message });
    });
  }
  // A forget request is done once no destination holds the person any more (checked, not assumed).
  if (!summary.dryRun) await markForgetRequestsSynced(wh);
}

async function syncDestination(run: RunState, destination: Destination): Promise<void> {
  const { wh, runId, asOf, request, reporter, summary, failures } = run;
  const name = `sync:${destination.name}`;
  await run.step(name, async () => {
    const report = await destination.sync({
      wh,
      runId,
      asOf,
      dryRun: summary.dryRun,
      force: request.force ?? false,
      fullRefresh: request.fullRefresh ?? false,
      log: (m) => reporter.info(m),
    });
    summary.destinations.push(report);
    const failed = report.audiences.filter((a) => a.status === 'failed');
    if (failed.length > 0)
      failures.push({
        step: name,
        message: failed.map((a) => `${a.audience}: ${a.message ?? 'failed'}`).join('; '),
      });
    return {
      rowsOut: report.audiences.reduce((n, a) => n + a.adds + a.removes, 0),
      detail: report.audiences.map(({ samples: _samples, ...rest }) => rest),
    };
  });
}

/**
 * Segments whose audiences must keep their stored membership this run: those whose file or evaluation failed.
 * A file that cannot even say its name might be any stored segment that did not load, so every such segment is
 * held too (a removed segment then empties out only once no file is broken); disabled ones empty as configured.
 */
export async function heldSegments(
  wh: Warehouse,
  fileFailures: SegmentFileFailure[],
  evaluations: SegmentEvaluation[],
  disabled: string[],
): Promise<string[]> {
  const held = new Set([
    ...fileFailures.flatMap((f) => (f.segment ? [f.segment] : [])),
    ...evaluations.filter((e) => e.error).map((e) => e.segment),
  ]);
  if (fileFailures.some((f) => f.kind !== 'duplicate' && !f.segment)) {
    const loaded = evaluations.filter((e) => !e.error).map((e) => e.segment);
    const rows = await wh.all<{ segment: string }>(
      `SELECT DISTINCT ${segmentOfSql('audience')} AS segment FROM (
         SELECT audience FROM audience_members UNION ALL
         SELECT audience FROM audience_membership_history WHERE exited_at IS NULL)
       WHERE ${segmentOfSql('audience')} NOT IN (SELECT unnest(${sqlList([...loaded, ...disabled])}))`,
    );
    for (const r of rows) held.add(r.segment);
  }
  return [...held].sort();
}
