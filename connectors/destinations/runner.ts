import { countPrivacyRemoves, privacyOnlyPlan, shrinkHold } from '../../plans/guard.ts';
import { buildPlan, dropPlan, type Plan } from '../../plans/plan.ts';
import type { AudienceSyncReport, Destination, DestinationReport, SyncContext } from '../../plans/types.ts';
import { redact } from '../../shared/redact.ts';
import { sqlIdent } from '../../warehouse/values.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { AudienceMissingError, type AudienceOp, type BatchDestination } from './contract.ts';
import { plannedRequests, sampleRows, uploadAction } from './runner-batches.ts';
import {
  acquireLock,
  discardReplaceRows,
  finishSyncRow,
  getAudienceState,
  markSynced,
  releaseLock,
  saveAudienceId,
  setAudienceStatus,
  startSyncRow,
} from './sync-state.ts';

/** Status of an audience deleted on the vendor's side: reported, not recreated (the Meta-only name came first). */
export const DELETED_STATUS = 'deleted_at_destination';
const DELETED_STATUSES = new Set([DELETED_STATUS, 'deleted_on_meta']);
let desiredCounter = 0;

/**
 * The shared sync of a batch destination: per audience, the diff of its desired rows (sendable_members) against
 * what the destination confirmed, the shrink guard, a lock, then removes and adds in requests confirmed one by
 * one, so a crash resumes where it stopped. One audience's failure never stops the others.
 */
export function batchDestination(dest: BatchDestination): Destination {
  return {
    name: dest.name,
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      const clean = (m: string) => redact(dest.redact ? dest.redact(m) : m);
      const log = (m: string) => ctx.log(clean(m));
      const audiences = ctx.audiences ?? (await knownAudiences(ctx.wh, dest.name));
      const reports: AudienceSyncReport[] = [];
      for (const audience of audiences) {
        try {
          reports.push(await syncAudience(ctx, dest, audience, log));
        } catch (err) {
          const message = clean((err as Error).message ?? String(err));
          log(`${dest.name}: ${audience}: failed: ${message}`);
          if (!ctx.dryRun)
            await finishSyncRow(ctx.wh, ctx.runId, dest.name, audience, 'failed', message).catch(() => {});
          reports.push({ audience, status: 'failed', adds: 0, removes: 0, size: 0, message });
        }
      }
      return { destination: dest.name, audiences: reports };
    },
  };
}

/** Current audiences, plus those the destination still holds members of (an emptied audience must empty there). */
export async function knownAudiences(wh: Warehouse, destination: string): Promise<string[]> {
  const rows = await wh.all<{ audience: string }>(
    `SELECT DISTINCT audience FROM audience_members
     UNION SELECT audience FROM destination_audiences WHERE destination = $1
     UNION SELECT DISTINCT audience FROM destination_members WHERE destination = $1
     ORDER BY audience`,
    [destination],
  );
  return rows.map((r) => r.audience);
}

/** The plan of one audience, from the destination's desired rows; counts the members it cannot match. */
async function planAudience(
  ctx: SyncContext,
  dest: BatchDestination,
  audience: string,
  wantsReplace: boolean,
  resume: boolean,
): Promise<{ plan: Plan; unmatchable: number; fullRefresh: boolean }> {
  const { wh } = ctx;
  const desired = `desired_${process.pid}_${++desiredCounter}`;
  await dest.desiredRows(wh, desired, audience);
  try {
    const usable = await wh.scalar(`SELECT count(*) FROM ${sqlIdent(desired)} WHERE usable`);
    const desiredSql = `SELECT customer_id, fingerprint, payload FROM ${sqlIdent(desired)} WHERE usable`;
    // A replace cannot send an empty list: emptying an audience is done with removes.
    const fullRefresh = wantsReplace && dest.capabilities.replace && usable > 0;
    const plan = await buildPlan(wh, {
      destination: dest.name,
      audience,
      desiredSql,
      fullRefresh,
      // No replace call: a full refresh removes every confirmed member, then sends every desired one again.
      resendAll: wantsReplace && !dest.capabilities.replace,
      // Diffed against what the interrupted session sent, not against what the destination held before it.
      resumeReplace: resume,
    });
    const unmatchable = await wh.scalar(`SELECT count(*) FROM ${sqlIdent(desired)} WHERE NOT usable`);
    return { plan, unmatchable, fullRefresh };
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(desired)}`);
  }
}

async function syncAudience(
  ctx: SyncContext,
  dest: BatchDestination,
  audience: string,
  log: (m: string) => void,
): Promise<AudienceSyncReport> {
  const { wh } = ctx;
  const state = await getAudienceState(wh, dest.name, audience);
  if (state && DELETED_STATUSES.has(state.status)) {
    const message =
      `${dest.name} audience ${state.external_id} no longer exists (deleted on the destination's side); not ` +
      `recreated. ${dest.recreateHint?.(audience) ?? `See docs/${dest.name}.md to create a new one.`}`;
    if (!ctx.dryRun) await finishSyncRow(wh, ctx.runId, dest.name, audience, 'failed', message);
    return { audience, status: 'failed', adds: 0, removes: 0, size: 0, message };
  }
  const externalId = state?.external_id ?? undefined;
  // A replace a crash interrupted is resumed where the destination allows it, else redone from the start.
  const interrupted =
    externalId && dest.interruptedReplace
      ? await dest.interruptedReplace({ wh, runId: ctx.runId, audience, externalId, log })
      : undefined;
  const resume = interrupted === 'resume';
  const wantsReplace = interrupted === 'redo' || (ctx.fullRefresh && !resume);
  let { plan, unmatchable, fullRefresh } = await planAudience(ctx, dest, audience, wantsReplace, resume);
  try {
    const base = { audience, adds: plan.adds, removes: plan.removes, size: plan.size, unmatchable };
    // Safety guard: a sudden collapse is more likely a broken feed than real churn (plans/guard.ts).
    const lastSize = state?.last_synced_size ?? plan.previousSize;
    const privacyRemoves = await countPrivacyRemoves(wh, dest.name, audience);
    const holdMessage = ctx.force
      ? undefined
      : shrinkHold({ lastSize, size: plan.size, privacyRemoves, maxShrink: dest.maxShrink });
    const held = holdMessage !== undefined;
    // A held audience still loses the people privacy requires: its plan becomes those removals only.
    const privacyOnly = held && privacyRemoves > 0;
    if (privacyOnly) {
      const removals = await privacyOnlyPlan(wh, plan);
      await dropPlan(wh, plan);
      plan = removals;
      fullRefresh = false;
    }
    // A resumed replace always has its session to close (sendLocked says so when it cannot).
    const nothing = plan.adds === 0 && plan.removes === 0 && !fullRefresh && !resume;
    if (ctx.dryRun) {
      const requests = await plannedRequests(wh, dest, plan, fullRefresh, state?.external_id ?? '0');
      return {
        ...base,
        status: held ? 'held' : 'planned',
        requests: (held && !privacyOnly) || nothing ? 0 : requests + (state?.external_id ? 0 : 1),
        samples: await sampleRows(wh, dest, plan),
        message: holdMessage,
      };
    }
    if (held && !privacyOnly) {
      log(`${dest.name}: ${audience}: ${holdMessage}`);
      await finishSyncRow(wh, ctx.runId, dest.name, audience, 'held', holdMessage);
      return { ...base, status: 'held', requests: 0, message: holdMessage };
    }
    // Nothing to send (an empty audience never synced included): no request, not even a creation.
    if (nothing) {
      await finishSyncRow(wh, ctx.runId, dest.name, audience, 'unchanged');
      await markSynced(wh, dest.name, audience, plan.size);
      return { ...base, status: 'unchanged', requests: 0 };
    }
    const mode = fullRefresh ? 'replace' : resume ? 'resume' : 'diff';
    const result = await sendLocked(ctx, dest, plan, mode, externalId, log);
    const status = result.ok && held ? 'held' : result.ok ? 'synced' : 'failed';
    const privacyNote = held ? `${holdMessage}; sent its ${result.removes} privacy removal(s)` : undefined;
    const message = result.ok
      ? [privacyNote, result.note].filter(Boolean).join('; ') || undefined
      : result.note;
    if (result.ok) {
      await markSynced(wh, dest.name, audience, plan.size);
      log(
        `${dest.name}: ${audience}: ${status} +${result.adds} -${result.removes} in ${result.requests} requests ` +
          `(size ${plan.size})${message ? `; ${message}` : ''}`,
      );
    }
    await finishSyncRow(wh, ctx.runId, dest.name, audience, status, message);
    return { ...base, status, requests: result.requests, invalidEntries: result.invalid, message };
  } finally {
    await dropPlan(wh, plan);
  }
}

interface SendResult {
  ok: boolean;
  adds: number;
  removes: number;
  invalid: number;
  requests: number;
  invalidSamples: unknown[];
  note?: string;
}

/** Sends a plan under the audience's lock: ensure the vendor audience, removes first, then adds (or replace). */
async function sendLocked(
  ctx: SyncContext,
  dest: BatchDestination,
  plan: Plan,
  mode: 'diff' | 'replace' | 'resume',
  knownId: string | undefined,
  log: (m: string) => void,
): Promise<SendResult> {
  const { wh } = ctx;
  const sent: SendResult = { ok: false, adds: 0, removes: 0, invalid: 0, requests: 0, invalidSamples: [] };
  const lock = await acquireLock(wh, dest.name, plan.audience, ctx.runId, dest.lockTtlMs);
  if (!lock.ok) {
    sent.note = `locked: ${lock.holder} is syncing this audience`;
    log(`${dest.name}: ${plan.audience}: ${sent.note}`);
    return sent;
  }
  let externalId = knownId;
  try {
    await startSyncRow(wh, ctx.runId, dest.name, plan.audience);
    // A replace session that is not continued (redone as a diff, or given up on): its rows stay in
    // destination_members with the old ones, everything the destination may hold, so this diff settles both.
    if (mode === 'diff') await discardReplaceRows(wh, dest.name, plan.audience);
    const op: AudienceOp = { wh, runId: ctx.runId, audience: plan.audience, externalId, log };
    if (!externalId) {
      op.segment = await segmentOf(wh, plan.audience);
      externalId = await dest.ensureAudience(op);
      await saveAudienceId(wh, dest.name, plan.audience, externalId);
      op.externalId = externalId;
      sent.requests++;
    }
    if (mode === 'replace') await uploadAction(ctx, dest, op, plan, 'replace', sent);
    else if (mode === 'resume') {
      if (plan.adds === 0)
        throw new Error(
          `an interrupted replace is still open at ${dest.name} and has nothing left to send; its removals go out ` +
            `once the destination closes the session, retry later (docs/${dest.name}.md)`,
        );
      log(`${dest.name}: ${plan.audience}: resuming an interrupted replace`);
      await uploadAction(ctx, dest, op, plan, 'replace', sent, { resume: true });
      if (plan.removes > 0) await uploadAction(ctx, dest, op, plan, 'remove', sent);
    } else {
      // Removes first: a member whose identifiers changed is removed (old row) then re-added (new row).
      if (plan.removes > 0) await uploadAction(ctx, dest, op, plan, 'remove', sent);
      if (plan.adds > 0) await uploadAction(ctx, dest, op, plan, 'add', sent);
    }
    sent.ok = true;
    if (sent.invalid > 0)
      sent.note = `${sent.invalid} invalid entries reported by ${dest.name}, e.g. ${JSON.stringify(sent.invalidSamples.slice(0, 3))}`;
  } catch (err) {
    if (err instanceof AudienceMissingError)
      await setAudienceStatus(wh, dest.name, plan.audience, DELETED_STATUS);
    sent.note = redact(dest.redact ? dest.redact((err as Error).message) : (err as Error).message);
    log(`${dest.name}: ${plan.audience}: failed: ${sent.note}`);
  } finally {
    await releaseLock(wh, dest.name, plan.audience, ctx.runId);
  }
  return sent;
}

async function segmentOf(wh: Warehouse, audience: string): Promise<string | undefined> {
  const row = await wh.one<{ segment: string }>(
    'SELECT segment FROM audience_members WHERE audience = $1 LIMIT 1',
    [audience],
  );
  return row?.segment;
}
