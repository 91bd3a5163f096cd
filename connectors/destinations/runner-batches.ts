import { confirmPlanRows, type Plan, readPlanRows } from '../../plans/plan.ts';
import type { SyncContext } from '../../plans/types.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import type { AudienceOp, BatchDestination, MemberRow, UploadBatch } from './contract.ts';
import { addSyncCounts, confirmReplaceRows, heartbeat } from './sync-state.ts';

const SAMPLE_ROWS = 3;

/** What an upload sent so far (the runner's tally for the report and the log line). */
export interface SentTally {
  adds: number;
  removes: number;
  invalid: number;
  requests: number;
  invalidSamples: unknown[];
}

/** Rows of one request: at most maxRowsPerRequest, fewer when the destination's byte limit says so. */
function requestSize(dest: BatchDestination, action: UploadBatch['action'], rows: MemberRow[], id: string) {
  const n = dest.fitRows ? dest.fitRows(action, rows, id) : rows.length;
  if (n < 1) throw new Error(`${dest.name}: a single member does not fit in one ${action} request`);
  return Math.min(n, rows.length);
}

/**
 * Sends one action of a plan request by request, confirming each accepted request's rows (with the destination's
 * own record of it) in one transaction: a crash loses at most the request in flight, which the next run resends.
 */
export async function uploadAction(
  ctx: SyncContext,
  dest: BatchDestination,
  op: AudienceOp,
  plan: Plan,
  action: UploadBatch['action'],
  sent: SentTally,
  options: { resume?: boolean } = {},
): Promise<void> {
  const { wh, runId } = ctx;
  const planAction = action === 'remove' ? 'remove' : 'add';
  const total = planAction === 'add' ? plan.adds : plan.removes;
  const send = action === 'add' ? dest.sendAdds : action === 'remove' ? dest.sendRemoves : dest.replace;
  if (!send) throw new Error(`${dest.name}: cannot replace an audience`);
  const max = dest.capabilities.maxRowsPerRequest;
  for (let offset = 0, seq = 1; offset < total; seq++) {
    const page = await readPlanRows(wh, plan, planAction, offset, max);
    if (page.length === 0) break;
    const n = requestSize(dest, action, page, op.externalId ?? '');
    const batch: UploadBatch = { action, rows: page.slice(0, n), seq, last: offset + n >= total, total };
    const ack = await send.call(dest, op, batch);
    sent.requests++;
    const from = offset;
    await wh.transaction(async () => {
      // A replace changes the vendor's membership only at its last batch: until then the old rows stay the record.
      if (action === 'replace')
        await confirmReplaceRows(wh, plan, from, n, {
          first: seq === 1 && !options.resume,
          last: batch.last,
        });
      else await confirmPlanRows(wh, plan, planAction, from, n);
      await dest.onConfirmed?.(op, batch, ack);
      await addSyncCounts(wh, runId, plan.destination, plan.audience, {
        adds: planAction === 'add' ? n : 0,
        removes: planAction === 'remove' ? n : 0,
        invalid: ack.invalid ?? 0,
      });
      await heartbeat(wh, plan.destination, plan.audience, runId);
    });
    if (planAction === 'add') sent.adds += n;
    else sent.removes += n;
    sent.invalid += ack.invalid ?? 0;
    if (ack.invalid && ack.invalidSamples) sent.invalidSamples.push(...ack.invalidSamples);
    op.log(
      `${dest.name}: ${plan.audience}: ${action} request ${seq}: ${n} rows accepted (${offset + n}/${total})`,
    );
    offset += n;
  }
}

/** Requests a plan needs, split exactly as uploadAction would split them (row and byte limits). */
export async function plannedRequests(
  wh: Warehouse,
  dest: BatchDestination,
  plan: Plan,
  fullRefresh: boolean,
  externalId: string,
): Promise<number> {
  const actions: Array<['add' | 'remove', UploadBatch['action']]> = fullRefresh
    ? [['add', 'replace']]
    : [
        ['remove', 'remove'],
        ['add', 'add'],
      ];
  let requests = 0;
  const max = dest.capabilities.maxRowsPerRequest;
  for (const [planAction, action] of actions) {
    const total = planAction === 'add' ? plan.adds : plan.removes;
    if (!dest.fitRows) {
      requests += Math.ceil(total / max);
      continue;
    }
    for (let offset = 0; offset < total; requests++) {
      const page = await readPlanRows(wh, plan, planAction, offset, max);
      if (page.length === 0) break;
      offset += requestSize(dest, action, page, externalId);
    }
  }
  return requests;
}

/** A few plan rows as they would be sent (hashed), for --dry-run. */
export async function sampleRows(
  wh: Warehouse,
  dest: BatchDestination,
  plan: Plan,
): Promise<Array<Record<string, string>>> {
  const samples: Array<Record<string, string>> = [];
  for (const action of ['add', 'remove'] as const) {
    const rows = await readPlanRows(wh, plan, action, 0, SAMPLE_ROWS - samples.length);
    for (const r of rows) samples.push({ action, ...dest.sample(r) });
    if (samples.length >= SAMPLE_ROWS) break;
  }
  return samples;
}
