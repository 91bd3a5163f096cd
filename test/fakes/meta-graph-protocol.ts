/**
 * The Graph protocol as the Meta fake speaks it: error shapes, and the parsing and validation of an upload's
 * payload and session, as Meta documents them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const KEYS = new Set([
  'EXTERN_ID',
  'EMAIL',
  'PHONE',
  'GEN',
  'DOBY',
  'DOBM',
  'DOBD',
  'LN',
  'FN',
  'FI',
  'CT',
  'ST',
  'ZIP',
  'MADID',
  'COUNTRY',
]);
const UNHASHED = new Set(['EXTERN_ID', 'MADID']);
const HASH = /^[0-9a-f]{64}$/;

export function graphError(code: number, message: string, extra: Record<string, unknown> = {}) {
  return {
    error: {
      message,
      type: code === 190 ? 'OAuthException' : 'OAuthException',
      code,
      ...extra,
      fbtrace_id: `A${randomBytes(9).toString('base64url')}`,
    },
  };
}

export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super('graph error');
  }
}

export const invalidParam = (message: string, subcode?: number) =>
  new HttpFailure(400, graphError(100, `(#100) ${message}`, subcode ? { error_subcode: subcode } : {}));
export const replaceError = (subcode: number, message: string) =>
  new HttpFailure(
    400,
    graphError(2650, message, { error_subcode: subcode, error_user_title: 'Replace error' }),
  );

/** The upload's payload as Meta checks it: known schema keys, 1 to 10,000 rows, hashed values. */
export function parsePayload(params: Record<string, unknown>): { schema: string[]; rows: string[][] } {
  const payload = parseJson(params.payload, 'payload') as { schema?: unknown; data?: unknown };
  const schema = Array.isArray(payload.schema) ? payload.schema.map(String) : [String(payload.schema ?? '')];
  for (const key of schema) if (!KEYS.has(key)) throw invalidParam(`Invalid schema key: ${key}`, 1870053);
  if (new Set(schema).size !== schema.length) throw invalidParam('Duplicate schema keys');
  if (!Array.isArray(payload.data) || payload.data.length === 0) throw invalidParam('payload.data is empty');
  if (payload.data.length > 10_000) throw invalidParam('Too many rows: at most 10000 per request', 1870055);
  const rows = payload.data.map((row, i) => {
    const r = Array.isArray(row) ? row.map((v) => String(v ?? '')) : [String(row ?? '')];
    if (r.length !== schema.length)
      throw invalidParam(`Row ${i} has ${r.length} values for ${schema.length} keys`);
    r.forEach((v, j) => {
      const key = schema[j]!;
      if (v !== '' && !UNHASHED.has(key) && !HASH.test(v)) {
        throw invalidParam(`Row ${i}: ${key} is not a lowercase hex SHA-256 hash`, 1870054);
      }
    });
    return r;
  });
  return { schema, rows };
}

/** The upload's session fields as Meta checks them. */
export function parseSession(params: Record<string, unknown>): {
  sessionId: string;
  seq: number;
  last: boolean;
} {
  const session = parseJson(params.session, 'session') as Record<string, unknown>;
  const sessionId = String(session.session_id ?? '');
  const seq = Number(session.batch_seq);
  const last = session.last_batch_flag === true || session.last_batch_flag === 'true';
  if (!/^\d+$/.test(sessionId)) throw invalidParam('session.session_id must be a 64-bit integer');
  if (!Number.isInteger(seq) || seq < 1) throw invalidParam('session.batch_seq must be a positive integer');
  return { sessionId, seq, last };
}

/** A Graph-shaped answer to an upload that was not applied: it counts nothing. */
export function unappliedAnswer(
  audienceId: string,
  params: Record<string, unknown>,
): Record<string, unknown> {
  const session = parseJson(params.session, 'session') as { session_id?: unknown };
  return {
    audience_id: audienceId,
    session_id: String(session.session_id ?? ''),
    num_received: 0,
    num_invalid_entries: 0,
    invalid_entry_samples: {},
  };
}

export function missing(id: string) {
  return new HttpFailure(
    400,
    graphError(
      100,
      `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      { error_subcode: 33, type: 'GraphMethodException' },
    ),
  );
}

export function rowKey(row: string[], schema: string[]): string {
  const i = schema.indexOf('EXTERN_ID');
  if (i >= 0 && row[i]) return row[i]!;
  return row.find((v) => v !== '') ?? '';
}

export function digest(rows: string[][]): string {
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

export function sessionSeq(params: Record<string, unknown>): number {
  try {
    return Number((parseJson(params.session, 'session') as { batch_seq?: unknown }).batch_seq) || 0;
  } catch {
    return 0;
  }
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function parseJson(v: unknown, name: string): unknown {
  if (v && typeof v === 'object') return v;
  if (typeof v !== 'string' || !v) throw invalidParam(`The parameter ${name} is required`);
  try {
    return JSON.parse(v);
  } catch {
    throw invalidParam(`The parameter ${name} is not valid JSON`);
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
