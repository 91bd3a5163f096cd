import type { Warehouse } from '../../warehouse/warehouse.ts';
import { table } from '../cli/format.ts';

/**
 * What Google said about the Google Ads requests a run sent (google_ads_requests, migration 0019), for
 * `retarget runs <run>`. Google reports outcomes per request and only as counts, asked by a later run 30 minutes
 * or more after the request, so a run's own requests show "not asked yet" until then. Grouped by audience, action
 * and status: a large audience sends many requests of 10,000 members.
 */
export interface GoogleAdsRequestSummary {
  audience: string;
  action: string;
  /** Google's request status; null until a later run has asked. */
  status: string | null;
  requests: number;
  members: number;
  record_count: number | null;
  user_identifier_count: number | null;
  /** The match-rate ranges Google reported (adds only), e.g. MATCH_RATE_RANGE_51_TO_60. */
  match_rate_ranges: string[];
  errors: Array<{ reason: string; records: number }>;
}

export async function googleAdsRequests(wh: Warehouse, runId: string): Promise<GoogleAdsRequestSummary[]> {
  const groups = await wh.all<{
    audience: string;
    action: string;
    status: string | null;
    requests: bigint;
    members: bigint;
    records: bigint | null;
    identifiers: bigint | null;
    ranges: string[];
  }>(
    `SELECT audience, action, request_status AS status, count(*) AS requests, sum(members) AS members,
            sum(record_count) AS records, sum(user_identifier_count) AS identifiers,
            list_sort(list(DISTINCT match_rate_range) FILTER (WHERE match_rate_range IS NOT NULL)) AS ranges
     FROM google_ads_requests WHERE run_id = $1 GROUP BY ALL ORDER BY audience, action, status`,
    [runId],
  );
  if (groups.length === 0) return [];
  const errors = await wh.all<{
    audience: string;
    action: string;
    status: string | null;
    reason: string;
    n: bigint;
  }>(
    `SELECT r.audience, r.action, r.request_status AS status, e.key AS reason, sum(e.value::BIGINT) AS n
     FROM google_ads_requests r, json_each(r.error_counts) e
     WHERE r.run_id = $1 GROUP BY ALL ORDER BY n DESC, reason`,
    [runId],
  );
  const num = (v: bigint | null) => (v === null ? null : Number(v));
  return groups.map((g) => ({
    audience: g.audience,
    action: g.action,
    status: g.status,
    requests: Number(g.requests),
    members: Number(g.members),
    record_count: num(g.records),
    user_identifier_count: num(g.identifiers),
    match_rate_ranges: g.ranges ?? [],
    errors: errors
      .filter((e) => e.audience === g.audience && e.action === g.action && e.status === g.status)
      .map((e) => ({ reason: e.reason, records: Number(e.n) })),
  }));
}

/** The text section of `retarget runs <run>`; nothing when the run sent no Google Ads request. */
export function formatGoogleAdsRequests(rows: GoogleAdsRequestSummary[]): string[] {
  if (rows.length === 0) return [];
  return [
    '',
    'Google Ads requests (diagnostics from RetrieveRequestStatus)',
    table(
      [
        'audience',
        'action',
        'status',
        'requests',
        'members',
        'records',
        'identifiers',
        'match rate',
        'errors',
      ],
      rows.map((r) => [
        r.audience,
        r.action,
        r.status ?? 'not asked yet',
        r.requests,
        r.members,
        r.record_count ?? '',
        r.user_identifier_count ?? '',
        r.match_rate_ranges.join(', '),
        r.errors.map((e) => `${e.reason} ${e.records}`).join(', '),
      ]),
    ),
  ];
}
