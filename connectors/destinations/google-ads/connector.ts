import { createHash } from 'node:crypto';
import { redact } from '../../../shared/redact.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import {
  AudienceMissingError,
  type AudienceOp,
  type BatchAck,
  type BatchDestination,
  type DestinationCapabilities,
  type MemberRow,
  type UploadBatch,
} from '../contract.ts';
import { DataManagerApi } from './api.ts';
import { GOOGLE_ADS_DESTINATION, GOOGLE_ADS_MAX_MEMBERS, type GoogleAdsConfig } from './config.ts';
import { DataManagerApiError } from './errors.ts';
import { createGoogleRows, parseIdentifiers } from './members.ts';
import { recordRequest } from './requests.ts';

/** Google's reasons meaning the user list is gone (deleted in the Google Ads UI, or never this account's). */
const LIST_MISSING = new Set(['INVALID_USER_LIST_ID', 'NOT_FOUND']);

export interface GoogleAdsConnector extends BatchDestination {
  readonly config: GoogleAdsConfig;
  readonly api: DataManagerApi;
}

/**
 * The Google Ads destination's vendor operations on the destination contract: one Customer Match user list per
 * audience (found by its display name, else created), members added and removed through the Data Manager API.
 */
export function createGoogleAdsConnector(
  config: GoogleAdsConfig,
  log: (m: string) => void = () => {},
): GoogleAdsConnector {
  const api = new DataManagerApi(config, (m) => log(redact(m)));
  const send = async (op: AudienceOp, batch: UploadBatch, action: 'add' | 'remove'): Promise<BatchAck> => {
    if (!config.termsAccepted) throw new Error(TERMS_MESSAGE);
    const listId = op.externalId ?? '';
    const members = batch.rows.map((r) => ({ userIdentifiers: parseIdentifiers(r.payload, r.customer_id) }));
    let requestId: string;
    try {
      requestId = action === 'add' ? await api.ingest(listId, members) : await api.remove(listId, members);
    } catch (err) {
      if (err instanceof DataManagerApiError && LIST_MISSING.has(err.reason))
        throw new AudienceMissingError(
          `Google Ads user list ${listId} no longer exists (deleted on Google's side?); not recreated. ${err.message}`,
        );
      throw err;
    }
    return { requestId };
  };
  return {
    kind: 'batches',
    name: GOOGLE_ADS_DESTINATION,
    config,
    api,
    capabilities: googleAdsCapabilities(config),
    maxShrink: config.maxShrink,
    lockTtlMs: config.lockTtlMs,
    desiredRows: (wh, table, audience) =>
      createGoogleRows(wh, table, audience, { defaultCountry: config.defaultCountry }),
    async ensureAudience(op) {
      if (!config.termsAccepted) throw new Error(TERMS_MESSAGE);
      const name = await listDisplayName(op.wh, config.namePrefix, op.audience);
      const found = await api.findList(name);
      if (found) {
        op.log(`google-ads: ${op.audience}: adopted existing user list ${found}`);
        return found;
      }
      const description = op.segment
        ? `retarget audience ${op.audience} (segment ${op.segment})`
        : `retarget audience ${op.audience}`;
      const id = await api.createList(name, description);
      op.log(`google-ads: ${op.audience}: created user list ${id}`);
      return id;
    },
    sendAdds: (op, batch) => send(op, batch, 'add'),
    sendRemoves: (op, batch) => send(op, batch, 'remove'),
    // Kept in the transaction confirming the batch: the request id is stored exactly when its rows are.
    onConfirmed: (op, batch, ack) =>
      recordRequest(op.wh, {
        requestId: ack.requestId ?? '',
        runId: op.runId,
        audience: op.audience,
        listId: op.externalId ?? '',
        action: batch.action === 'remove' ? 'remove' : 'add',
        members: batch.rows.length,
      }),
    sample: (row: MemberRow) => sampleRow(row),
    recreateHint: (audience) =>
      `To create a new one: npx tsx connectors/destinations/google-ads/forget.ts ${audience} --db FILE (see docs/google-ads.md).`,
    redact,
  };
}

/** No replace: the 0.3.0 client has no RemoveAllAudienceMembers, so a full refresh resends every member. */
export function googleAdsCapabilities(config: GoogleAdsConfig): DestinationCapabilities {
  return { maxRowsPerRequest: Math.min(config.batchSize, GOOGLE_ADS_MAX_MEMBERS), replace: false };
}

/** Raised before any request when the Customer Match terms were not declared accepted. */
export const TERMS_MESSAGE =
  "google-ads: nothing sent: uploading Customer Match data declares that you accepted Google's Customer Match " +
  'terms; accept them in Google Ads (Audience manager), then set GOOGLE_ADS_CUSTOMER_MATCH_TERMS=accepted ' +
  '(or destinations.google_ads.customerMatchTerms: "accepted" in retarget.config.ts)';

/**
 * The list's display name: prefix, audience, and a short key of this database and the audience, so it is stable
 * from night to night (a list created by a run that crashed is found again) and unique per account.
 */
async function listDisplayName(wh: Warehouse, prefix: string, audience: string): Promise<string> {
  const row = await wh.one<{ database_id: string }>('SELECT database_id FROM database_identity LIMIT 1');
  if (!row) throw new Error('google-ads: this database has no identity row (database_identity is empty)');
  const key = createHash('sha256').update(`${row.database_id}\n${audience}`).digest('hex').slice(0, 10);
  return `${prefix}${audience} [${key}]`;
}

/** A member as sent, flattened for the --dry-run sample; the postal code (sent unhashed) is masked. */
function sampleRow(row: MemberRow): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of parseIdentifiers(row.payload, row.customer_id) as Array<Record<string, unknown>>) {
    for (const [k, v] of Object.entries(id)) {
      if (typeof v === 'string') out[k] = v;
      else
        for (const [ak, av] of Object.entries(v as object))
          out[`address.${ak}`] = ak === 'postalCode' ? '(not shown)' : String(av);
    }
  }
  return out;
}
