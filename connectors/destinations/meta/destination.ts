import { countPrivacyRemoves, privacyOnlyPlan, shrinkHold } from '../../../plans/guard.ts';
import { buildPlan, dropPlan, type Plan, readPlanRows } from '../../../plans/plan.ts';
import type {
  AudienceSyncReport,
  Destination,
  DestinationReport,
  SyncContext,
} from '../../../plans/types.ts';
import { sqlIdent } from '../../../warehouse/values.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { adoptOrCreateAudience } from './audience.ts';
import { fixedDeleteUrlBytes, requestChunks } from './batches.ts';
import {
  META_DESTINATION,
  type MetaConfig,
  type MetaConfigInput,
  metaConfigFromEnv,
  resolveMetaConfig,
} from './config.ts';
import { MetaApiError, redactToken } from './errors.ts';
import { MetaGraph } from './graph.ts';
import { audienceSourceSql, createMetaRows, META_SCHEMA } from './normalize.ts';
import {
  abandonReplace,
  acquireLock,
  finishSyncRow,
  getAudienceState,
  markSynced,
  pendingReplace,
  releaseLock,
  setAudienceStatus,
  startSyncRow,
} from './state.ts';
import { parsePayload, Uploader } from './upload.ts';

/** Meta closes a session 90 minutes after its first batch; resume only well within that. */
const RESUME_WINDOW_MS = 80 * 60_000;
const SAMPLE_ROWS = 3;
const DELETED_STATUS = 'deleted_on_meta';
let desiredCounter = 0;

export interface MetaDestinationOptions {
  /** Description of the Custom Audience created for an audience (default names the segment). */
  describe?: (audience: string, segment: string | undefined) => string;
}

/**
 * The Meta Custom Audiences destination: one customer-list Custom Audience per audience, kept in sync with the
 * minimal diff against what Meta last acknowledged, committed batch by batch.
 */
export function createMetaDestination(
  configInput: MetaConfig | MetaConfigInput,
  options: MetaDestinationOptions = {},
): Destination {
  const config = resolveMetaConfig(configInput);
  const name = META_DESTINATION;
  return {
    name,
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      const log = (m: string) => ctx.log(redactToken(m, config.accessToken));
      const graph = new MetaGraph(config, log);
      const audiences = ctx.audiences ?? (await knownAudiences(ctx.wh));
      const reports: AudienceSyncReport[] = [];
      for (const audience of audiences) {
        try {
          reports.push(await syncAudience(ctx, config, graph, options, audience, log));
        } catch (err) {
          // Anything unexpected still fails only this audience.
          const message = redactToken((err as Error).message ?? String(err), config.accessToken);
          log(`meta: ${audience}: failed: ${message}`);
          if (!ctx.dryRun)
            await finishSyncRow(ctx.wh, ctx.runId, name, audience, 'failed', message).catch(() => {});
          reports.push({ audience, status: 'failed', adds: 0, removes: 0, size: 0, message });
        }
      }
      return { destination: name, audiences: reports };
    },
  };
}

/** Current audiences, plus those Meta still holds members of (an audience that emptied must be emptied there). */
async function knownAudiences(wh: Warehouse): Promise<string[]> {
  const rows = await wh.all<{ audience: string }>(
    `SELECT DISTINCT audience FROM audience_members
     UNION SELECT audience FROM destination_audiences WHERE destination = $1
     UNION SELECT DISTINCT audience FROM destination_members WHERE destination = $1
     ORDER BY audience`,
    [META_DESTINATION],
  );
  return rows.map((r) => r.audience);
}

async function syncAudience(
  ctx: SyncContext,
  config: MetaConfig,
  graph: MetaGraph,
  options: MetaDestinationOptions,
  audience: string,
  log: (m: string) => void,
): Promise<AudienceSyncReport> {
  const { wh } = ctx;
  const dest = META_DESTINATION;
  const state = await getAudienceState(wh, dest, audience);

  if (state?.status === DELETED_STATUS) {
    const message =
      `Meta Custom Audience ${state.external_id} no longer exists (deleted on Meta's side); not recreated. ` +
      `To create a new one: npx tsx connectors/destinations/meta/forget.ts ${audience} (forgetMetaAudience; see docs/meta.md).`;
    if (!ctx.dryRun) await finishSyncRow(wh, ctx.runId, dest, audience, 'failed', message);
    return { audience, status: 'failed', adds: 0, removes: 0, size: 0, message };
  }

  // A replace interrupted by a crash is resumed within Meta's session window, else redone from scratch.
  const pending = state?.external_id ? await pendingReplace(wh, audience, state.external_id) : undefined;
  const resumeReplace =
    pending && Date.now() - pending.startedAt.getTime() < RESUME_WINDOW_MS ? pending : undefined;
  const wantsReplace = !resumeReplace && (ctx.fullRefresh || pending !== undefined);

  // Normalise and hash once: the same rows give the plan and the unmatchable count.
  const desired = `meta_desired_${process.pid}_${++desiredCounter}`;
  await createMetaRows(wh, desired, audienceSourceSql('$1'), [audience], {
    defaultCountry: config.defaultCountry,
  });
  let plan: Plan;
  let unmatchable: number;
  let fullRefresh = wantsReplace;
  try {
    // A replace cannot send an empty list: emptying an audience is done with removes.
    if (fullRefresh)
      fullRefresh = (await wh.scalar(`SELECT count(*) FROM ${sqlIdent(desired)} WHERE usable`)) > 0;
    plan = await buildPlan(wh, {
      destination: dest,
      audience,
      desiredSql: `SELECT customer_id, fingerprint, payload FROM ${sqlIdent(desired)} WHERE usable`,
      fullRefresh,
    });
    unmatchable = await wh.scalar(`SELECT count(*) FROM ${sqlIdent(desired)} WHERE NOT usable`);
  } finally {
    await wh.run(`DROP TABLE IF EXISTS ${sqlIdent(desired)}`);
  }
  try {
    const base = { audience, adds: plan.adds, removes: plan.removes, size: plan.size, unmatchable };

    // Safety guard: a sudden collapse is more likely a broken feed than real churn (plans/guard.ts).
    const lastSize = state?.last_synced_size ?? plan.previousSize;
    const privacyRemoves = await countPrivacyRemoves(wh, dest, audience);
    const holdMessage = ctx.force
      ? undefined
      : shrinkHold({ lastSize, size: plan.size, privacyRemoves, maxShrink: config.maxShrink });
    const held = holdMessage !== undefined;
    // A held audience still loses the people privacy requires: its plan becomes those removals only.
    const privacyOnly = held && privacyRemoves > 0;
    if (privacyOnly) {
      const removals = await privacyOnlyPlan(wh, plan);
      await dropPlan(wh, plan);
      plan = removals;
      fullRefresh = false;
    }

    if (ctx.dryRun) {
      const nothing = plan.adds === 0 && plan.removes === 0 && !fullRefresh;
      const requests = await plannedRequests(wh, config, plan, fullRefresh, state?.external_id ?? '0');
      return {
        ...base,
        status: held ? 'held' : 'planned',
        requests: (held && !privacyOnly) || nothing ? 0 : requests + (state?.external_id ? 0 : 1),
        samples: await sampleRows(wh, plan),
        message: holdMessage,
      };
    }
    if (held && !privacyOnly) {
      log(`meta: ${audience}: ${holdMessage}`);
      await finishSyncRow(wh, ctx.runId, dest, audience, 'held', holdMessage);
      return { ...base, status: 'held', requests: 0, message: holdMessage };
    }
    // Nothing to send (an empty audience never synced included): no request, not even a creation.
    if (plan.adds === 0 && plan.removes === 0 && !fullRefresh) {
      await finishSyncRow(wh, ctx.runId, dest, audience, 'unchanged');
      await markSynced(wh, dest, audience, plan.size);
      return { ...base, status: 'unchanged', requests: 0 };
    }

    const lock = await acquireLock(wh, dest, audience, ctx.runId, config.lockTtlMs);
    if (!lock.ok) {
      const message = `locked: ${lock.holder} is syncing this audience`;
      log(`meta: ${audience}: ${message}`);
      await finishSyncRow(wh, ctx.runId, dest, audience, 'failed', message);
      return { ...base, status: 'failed', requests: 0, message };
    }
    let requests = 0;
    try {
      await startSyncRow(wh, ctx.runId, dest, audience);
      let externalId = state?.external_id ?? undefined;
      if (!externalId) {
        externalId = await adoptOrCreateAudience(wh, graph, config, audience, options.describe, log);
        requests++;
      }
      const up = new Uploader(ctx, config, graph, plan, externalId, log);
      try {
        if (fullRefresh) {
          await up.send('replace', 'add');
        } else if (resumeReplace) {
          log(`meta: ${audience}: resuming replace session ${resumeReplace.sessionId}`);
          if (plan.adds === 0) {
            throw new MetaApiError(
              `an interrupted replace session (${resumeReplace.sessionId}) is still open on Meta and has nothing ` +
                'left to send; it closes 90 minutes after it started, retry after that',
              {},
            );
          }
          await up.send('replace', 'add', {
            sessionId: resumeReplace.sessionId,
            firstSeq: resumeReplace.lastSeq + 1,
            startedAt: resumeReplace.startedAt,
            received: resumeReplace.received,
          });
          if (plan.removes > 0) await up.send('remove', 'remove');
        } else {
          // Removes first: a member whose identifiers changed is removed (old row) then re-added (new row).
          if (plan.removes > 0) await up.send('remove', 'remove');
          if (plan.adds > 0) await up.send('add', 'add');
        }
        if (pending && !resumeReplace) await abandonReplace(wh, audience, pending.sessionId);
      } catch (err) {
        if (err instanceof MetaApiError && err.audienceMissing) {
          await setAudienceStatus(wh, dest, audience, DELETED_STATUS);
          const message =
            `Meta Custom Audience ${externalId} no longer exists (deleted on Meta's side?); not recreated. ` +
            `Meta said: ${err.message}`;
          throw new MetaApiError(message, err.info);
        }
        throw err;
      } finally {
        requests += up.sent.requests;
      }
      const sent = up.sent;
      const invalidNote =
        sent.invalid > 0
          ? `${sent.invalid} invalid entries reported by Meta, e.g. ${JSON.stringify(sent.invalidSamples.slice(0, 3))}`
          : undefined;
      const status = held ? 'held' : 'synced';
      const privacyNote = held ? `${holdMessage}; sent its ${sent.removes} privacy removal(s)` : undefined;
      const note = [privacyNote, invalidNote].filter(Boolean).join('; ') || undefined;
      await markSynced(wh, dest, audience, plan.size);
      await finishSyncRow(wh, ctx.runId, dest, audience, status, note);
      log(
        `meta: ${audience}: ${status} +${sent.adds} -${sent.removes} in ${requests} requests (size ${plan.size})` +
          (note ? `; ${note}` : ''),
      );
      return { ...base, status, requests, invalidEntries: sent.invalid, message: note };
    } catch (err) {
      const message = redactToken((err as Error).message ?? String(err), config.accessToken);
      log(`meta: ${audience}: failed: ${message}`);
      await finishSyncRow(wh, ctx.runId, dest, audience, 'failed', message);
      return { ...base, status: 'failed', requests, message };
    } finally {
      await releaseLock(wh, dest, audience, ctx.runId);
    }
  } finally {
    await dropPlan(wh, plan);
  }
}

/** Requests a plan needs: ceil(adds / batch) + removal batches split by rows and URL size. */
async function plannedRequests(
  wh: Warehouse,
  config: MetaConfig,
  plan: Plan,
  fullRefresh: boolean,
  externalId: string,
): Promise<number> {
  let requests = Math.ceil(plan.adds / config.batchSize);
  if (fullRefresh || plan.removes === 0) return requests;
  const limits = {
    maxRows: config.batchSize,
    maxUrlBytes: config.maxUrlBytes,
    fixedUrlBytes: fixedDeleteUrlBytes(config.graphUrl, externalId, config.accessToken),
  };
  const readPage = async (from: number) =>
    (await readPlanRows(wh, plan, 'remove', from, config.batchSize)).map((r) =>
      parsePayload(r.payload, r.customer_id),
    );
  for await (const _ of requestChunks(plan.removes, readPage, limits)) requests++;
  return requests;
}

/** A few plan rows as they would be sent (hashed), keyed by schema, for --dry-run. */
async function sampleRows(wh: Warehouse, plan: Plan): Promise<Array<Record<string, string>>> {
  const samples: Array<Record<string, string>> = [];
  for (const action of ['add', 'remove'] as const) {
    const rows = await readPlanRows(wh, plan, action, 0, SAMPLE_ROWS - samples.length);
    for (const r of rows) {
      const values = parsePayload(r.payload, r.customer_id);
      samples.push({ action, ...Object.fromEntries(META_SCHEMA.map((k, i) => [k, values[i] ?? ''])) });
    }
    if (samples.length >= SAMPLE_ROWS) break;
  }
  return samples;
}

/**
 * Forgets an audience's Meta state (id, confirmed members, batches), e.g. after it was deleted in Ads Manager: the
 * next run adopts the Custom Audience of its name if Meta still holds it, else creates a new one.
 */
export async function forgetMetaAudience(wh: Warehouse, audience: string): Promise<void> {
  await wh.transaction(async () => {
    await wh.run('DELETE FROM destination_members WHERE destination = $1 AND audience = $2', [
      META_DESTINATION,
      audience,
    ]);
    await wh.run('DELETE FROM destination_audiences WHERE destination = $1 AND audience = $2', [
      META_DESTINATION,
      audience,
    ]);
    await wh.run('DELETE FROM meta_sync_batches WHERE audience = $1', [audience]);
  });
}

/**
 * The Meta destination as configured by the environment (and retarget.config.ts `destinations.meta`), or
 * undefined when META_ACCESS_TOKEN / META_AD_ACCOUNT_ID are not set.
 */
export function metaDestinationFromConfig(
  settings?: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  options: MetaDestinationOptions = {},
): Destination | undefined {
  const config = metaConfigFromEnv(env, settings);
  return config ? createMetaDestination(config, options) : undefined;
}
