import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { DataManagerApi } from './api.ts';
import { DataManagerApiError } from './errors.ts';

/**
 * google_ads_requests (migration 0019): every request Google accepted, and its diagnostics. Google processes
 * uploads asynchronously and reports outcomes only through RetrieveRequestStatus, per request and as counts per
 * reason; its guide says to ask 30 minutes after the request, so each run asks about the requests that are old
 * enough and not final yet, and stores the answer for analysts.
 */
export interface SentRequest {
  requestId: string;
  runId: string;
  audience: string;
  listId: string;
  action: 'add' | 'remove';
  members: number;
}

export async function recordRequest(wh: Warehouse, r: SentRequest): Promise<void> {
  await wh.run(
    `INSERT OR IGNORE INTO google_ads_requests (request_id, run_id, audience, user_list_id, action, members, sent_at)
     VALUES ($1, $2, $3, $4, $5, $6, now()::TIMESTAMP)`,
    [r.requestId, r.runId, r.audience, r.listId, r.action, r.members],
  );
}

/** Statuses after which Google's answer no longer changes (INVALID_REQUEST_ID: Google does not know it). */
const FINAL = ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'INVALID_REQUEST_ID'];
/** Requests asked about per run, oldest first: bounded so a backlog never stalls a nightly run. */
const MAX_CHECKS_PER_RUN = 200;

/**
 * Asks Google about requests sent at least `delayMs` ago whose status is not final, and stores status, record
 * and identifier counts, error counts by reason and the match-rate range. Returns how many were updated. A
 * failure to ask is logged and left for the next run: diagnostics never fail a sync.
 */
export async function checkRequestStatuses(
  wh: Warehouse,
  api: DataManagerApi,
  delayMs: number,
  log: (m: string) => void,
): Promise<number> {
  const due = await wh.all<{ request_id: string; audience: string }>(
    `SELECT request_id, audience FROM google_ads_requests
     WHERE sent_at <= now()::TIMESTAMP - to_milliseconds($1)
       AND (request_status IS NULL OR request_status NOT IN (${FINAL.map((s) => `'${s}'`).join(', ')}))
     ORDER BY sent_at LIMIT ${MAX_CHECKS_PER_RUN}`,
    [delayMs],
  );
  let updated = 0;
  for (const r of due) {
    try {
      const s = await api.requestStatus(r.request_id);
      await wh.run(
        `UPDATE google_ads_requests SET checked_at = now()::TIMESTAMP, request_status = $2, record_count = $3,
           user_identifier_count = $4, error_counts = $5::JSON, match_rate_range = $6
         WHERE request_id = $1`,
        [
          r.request_id,
          s.status,
          s.recordCount ?? null,
          s.identifierCount ?? null,
          JSON.stringify(s.errorCounts),
          s.matchRateRange ?? null,
        ],
      );
      updated++;
    } catch (err) {
      if (err instanceof DataManagerApiError && err.reason === 'INVALID_REQUEST_ID') {
        await wh.run(
          `UPDATE google_ads_requests SET checked_at = now()::TIMESTAMP, request_status = 'INVALID_REQUEST_ID'
           WHERE request_id = $1`,
          [r.request_id],
        );
        continue;
      }
      const why = err instanceof DataManagerApiError ? err.message : String(err);
      log(
        `google-ads: ${r.audience}: status of request ${r.request_id} not retrieved (${why}); asked again next run`,
      );
    }
  }
  return updated;
}
