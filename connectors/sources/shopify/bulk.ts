import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { type ShopifyApi, ShopifyApiError, sleep } from './client.ts';
import type { ShopifyConfig } from './config.ts';

/**
 * Bulk operations: start one query (bulkOperationRunQuery, groupObjects false), poll it by id (bulkOperation(id:),
 * not the deprecated currentBulkOperation) with a growing wait, then stream its JSONL result to a temp file, so
 * memory holds one chunk of the download whatever the size of the store.
 */

const RUN = `mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`;

const POLL = `query PollBulk($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl }
}`;

interface BulkOperation {
  id: string;
  status: string;
  errorCode?: string | null;
  objectCount?: string | null;
  url?: string | null;
}

/** A bulk operation Shopify reported FAILED, CANCELED or EXPIRED (or that took too long), with its error code. */
export class ShopifyBulkError extends ShopifyApiError {
  override name = 'ShopifyBulkError';
}

export interface BulkResult {
  operationId: string;
  /** Lines in the result (objects and their children). */
  objectCount: number;
  /** The downloaded JSONL file, or null when the query matched nothing. */
  file: string | null;
  bytes: number;
  /** Time Shopify took to run the operation (as polled), and to download its result. */
  waitMs: number;
  downloadMs: number;
  /** Removes the temp file. */
  dispose(): void;
}

/** The scratch folder (../scratch.ts) results are downloaded to, emptied when each object's pull starts and ends. */
export const SHOPIFY_DOWNLOADS = 'shopify-downloads';

export async function runBulkQuery(
  api: ShopifyApi,
  config: ShopifyConfig,
  what: string,
  query: string,
  log: (m: string) => void,
  downloads: string,
): Promise<BulkResult> {
  const run = await api.graphql<{
    bulkOperationRunQuery: {
      bulkOperation: BulkOperation | null;
      userErrors: Array<{ field?: string[]; message: string }>;
    };
  }>(`bulk ${what}`, RUN, { query });
  const { bulkOperation, userErrors } = run.bulkOperationRunQuery;
  if (!bulkOperation || userErrors.length)
    throw new ShopifyBulkError(
      `Shopify refused the bulk query for ${what}: ${userErrors.map((e) => e.message).join('; ') || 'no operation returned'}`,
    );
  const started = Date.now();
  const done = await waitFor(api, config, what, bulkOperation.id, log);
  const waitMs = Date.now() - started;
  const objectCount = Number(done.objectCount ?? 0);
  if (!done.url)
    return { operationId: done.id, objectCount, file: null, bytes: 0, waitMs, downloadMs: 0, dispose() {} };
  const dir = mkdtempSync(join(downloads, 'bulk-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, `${what}.jsonl`);
    const bytes = await download(done.url, file, what);
    const downloadMs = Date.now() - started - waitMs;
    return { operationId: done.id, objectCount, file, bytes, waitMs, downloadMs, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

const FINISHED_BADLY = new Set(['FAILED', 'CANCELED', 'CANCELLED', 'EXPIRED']);

async function waitFor(
  api: ShopifyApi,
  config: ShopifyConfig,
  what: string,
  id: string,
  log: (m: string) => void,
): Promise<BulkOperation> {
  const deadline = Date.now() + config.bulkTimeoutMinutes * 60_000;
  let wait = config.pollMinMs;
  for (;;) {
    const { bulkOperation: op } = await api.graphql<{ bulkOperation: BulkOperation | null }>(
      `poll ${what}`,
      POLL,
      { id },
    );
    if (!op) throw new ShopifyBulkError(`Shopify bulk operation ${id} (${what}) not found`);
    if (op.status === 'COMPLETED') return op;
    if (FINISHED_BADLY.has(op.status))
      throw new ShopifyBulkError(
        `Shopify bulk operation ${id} (${what}) ${op.status}${op.errorCode ? ` with error code ${op.errorCode}` : ''}; nothing of it was loaded and the next run starts again from the last committed cursor`,
        undefined,
        op.errorCode ?? op.status,
      );
    if (Date.now() + wait > deadline)
      throw new ShopifyBulkError(
        `Shopify bulk operation ${id} (${what}) still ${op.status} after ${config.bulkTimeoutMinutes} minutes (sources.shopify.bulkTimeoutMinutes); the next run starts it again`,
        undefined,
        'TIMEOUT',
      );
    log(`Shopify ${what}: bulk operation ${op.status.toLowerCase()} (${op.objectCount ?? 0} objects)`);
    await sleep(wait);
    wait = Math.min(config.pollMaxMs, Math.ceil(wait * 1.5));
  }
}

/** Streams the result to a file (no token: the url is pre-signed storage, not the Admin API). Returns its bytes. */
async function download(url: string, file: string, what: string): Promise<number> {
  const res = await fetch(url);
  if (!res.ok || !res.body)
    throw new ShopifyBulkError(`Shopify ${what}: downloading the bulk result failed (HTTP ${res.status})`);
  const out = createWriteStream(file, { mode: 0o600 });
  await pipeline(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), out);
  return out.bytesWritten;
}
