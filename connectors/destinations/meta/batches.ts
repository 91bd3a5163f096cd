import { FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import { META_SCHEMA } from './normalize.ts';

/**
 * Splits rows into request-sized chunks. POST bodies only obey the 10,000-row limit; DELETE requests carry the
 * payload in the URL query string (that is how the SDK sends them), so they must also stay under maxUrlBytes.
 */
export function chunkSizes(
  rows: readonly (readonly string[])[],
  opts: { maxRows: number; maxUrlBytes?: number; fixedUrlBytes?: number },
): number[] {
  const sizes: number[] = [];
  let count = 0;
  let bytes = opts.fixedUrlBytes ?? 0;
  for (const row of rows) {
    // Each row is JSON in the encoded payload, plus an encoded comma (%2C) between rows.
    const rowBytes = opts.maxUrlBytes ? encodeURIComponent(JSON.stringify(row)).length + 3 : 0;
    const full =
      count >= opts.maxRows ||
      (opts.maxUrlBytes !== undefined && count > 0 && bytes + rowBytes > opts.maxUrlBytes);
    if (full) {
      sizes.push(count);
      count = 0;
      bytes = opts.fixedUrlBytes ?? 0;
    }
    if (opts.maxUrlBytes !== undefined && count === 0 && bytes + rowBytes > opts.maxUrlBytes) {
      throw new Error(`meta: a single row does not fit in a ${opts.maxUrlBytes}-byte URL; raise maxUrlBytes`);
    }
    count++;
    bytes += rowBytes;
  }
  if (count > 0) sizes.push(count);
  return sizes;
}

/** URL bytes of a DELETE request besides its rows: host, path, token, schema, session (generously bounded). */
export function fixedDeleteUrlBytes(graphUrl: string, audienceId: string, token: string): number {
  const path = `${graphUrl}/${FacebookAdsApi.VERSION}/${audienceId}/users?`;
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
