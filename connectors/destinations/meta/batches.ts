import { META_SCHEMA } from './normalize.ts';

export interface ChunkLimits {
  maxRows: number;
  maxUrlBytes?: number;
  fixedUrlBytes?: number;
}

/**
 * How many of the leading rows fit in one request. POST bodies only obey the 10,000-row limit; DELETE requests
 * carry the payload in the URL query string (that is how the SDK sends them), so they must also stay under
 * maxUrlBytes.
 */
export function firstChunkSize(rows: readonly (readonly string[])[], opts: ChunkLimits): number {
  let count = 0;
  let bytes = opts.fixedUrlBytes ?? 0;
  for (const row of rows) {
    if (count >= opts.maxRows) break;
    // Each row is JSON in the encoded payload, plus an encoded comma (%2C) between rows.
    const rowBytes = opts.maxUrlBytes ? encodeURIComponent(JSON.stringify(row)).length + 3 : 0;
    if (opts.maxUrlBytes !== undefined && bytes + rowBytes > opts.maxUrlBytes) {
      if (count === 0) {
        throw new Error(
          `meta: a single row does not fit in a ${opts.maxUrlBytes}-byte URL; raise maxUrlBytes`,
        );
      }
      break;
    }
    count++;
    bytes += rowBytes;
  }
  return count;
}

/**
 * Cuts a stream of rows, read page by page, into the fewest requests: a chunk never ends at a page boundary
 * unless it is full, so splitting by URL size leaves no half-empty request behind each page.
 */
export async function* requestChunks(
  total: number,
  readPage: (offset: number) => Promise<string[][]>,
  opts: ChunkLimits,
): AsyncGenerator<{ offset: number; rows: string[][] }> {
  let buffer: string[][] = [];
  let fetched = 0;
  let offset = 0;
  while (offset < total) {
    while (buffer.length < opts.maxRows && fetched < total) {
      const page = await readPage(fetched);
      if (page.length === 0) break;
      buffer = buffer.concat(page);
      fetched += page.length;
    }
    if (buffer.length === 0) return;
    const n = firstChunkSize(buffer, opts);
    yield { offset, rows: buffer.slice(0, n) };
    buffer = buffer.slice(n);
    offset += n;
  }
}

/**
 * Bytes of the Graph API version in a request's path (the SDK's `FacebookAdsApi.VERSION`, 'v24.0' today), bounded
 * rather than read: reading it would load the SDK, about 0.3 s, for every command that only sizes batches.
 */
export const GRAPH_VERSION_BYTES = 'v999.99'.length;

/** URL bytes of a DELETE request besides its rows: host, path, token, schema, session (generously bounded). */
export function fixedDeleteUrlBytes(graphUrl: string, audienceId: string, token: string): number {
  const path = `${graphUrl}/${'v'.repeat(GRAPH_VERSION_BYTES)}/${audienceId}/users?`;
  const payload = encodeURIComponent(JSON.stringify({ schema: META_SCHEMA, data: [] }));
  const session = encodeURIComponent(
    JSON.stringify({
      session_id: 2 ** 53,
      batch_seq: 999999,
      last_batch_flag: false,
      estimated_num_total: 1e12,
    }),
  );
  return (
    path.length +
    'payload=&session=&access_token='.length +
    payload.length +
    session.length +
    encodeURIComponent(token).length
  );
}
