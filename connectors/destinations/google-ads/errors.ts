/**
 * Data Manager errors. The Node client exposes code, reason and the field violations' field and description, but
 * drops `fieldViolations[].reason` (gax's bundled status proto lacks it), so the google.rpc.Status trailer
 * (grpc-status-details-bin) is decoded here. A tiny protobuf wire reader does it: only three messages are read.
 */

/** gRPC codes Google asks callers to retry with backoff: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, RESOURCE_EXHAUSTED. */
export const RETRYABLE_CODES = new Set([14, 4, 13, 8]);

const CODE_NAMES: Record<number, string> = {
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export interface FieldViolation {
  field: string;
  description: string;
  reason?: string;
}

export class DataManagerApiError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    /** ErrorInfo.reason, e.g. INVALID_USER_LIST_ID (or the code's name). */
    readonly reason: string,
    readonly violations: FieldViolation[] = [],
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.code !== undefined && RETRYABLE_CODES.has(this.code);
  }
}

/** Length-delimited fields of one protobuf message, as [field number, bytes]. Other wire types are skipped. */
function fields(buf: Uint8Array): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++] ?? 0;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80 || i >= buf.length) return v;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const type = key & 7;
    if (type === 0) varint();
    else if (type === 1) i += 8;
    else if (type === 5) i += 4;
    else if (type === 2) {
      const len = varint();
      out.push([Math.floor(key / 8), buf.subarray(i, i + len)]);
      i += len;
    } else break;
  }
  return out;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** google.rpc.Status details -> ErrorInfo.reason and BadRequest.field_violations (field, description, reason). */
export function decodeStatusDetails(bin: Uint8Array): { reason?: string; violations: FieldViolation[] } {
  let reason: string | undefined;
  const violations: FieldViolation[] = [];
  for (const [n, any] of fields(bin)) {
    if (n !== 3) continue; // Status.details
    const parts = fields(any);
    const type = text(parts.find(([k]) => k === 1)?.[1] ?? new Uint8Array());
    const value = parts.find(([k]) => k === 2)?.[1] ?? new Uint8Array();
    if (type.endsWith('google.rpc.ErrorInfo')) {
      const r = fields(value).find(([k]) => k === 1);
      if (r) reason = text(r[1]);
    } else if (type.endsWith('google.rpc.BadRequest')) {
      for (const [k, v] of fields(value)) {
        if (k !== 1) continue;
        const f = fields(v);
        const get = (m: number) => {
          const hit = f.find(([x]) => x === m);
          return hit ? text(hit[1]) : undefined;
        };
        violations.push({ field: get(1) ?? '', description: get(2) ?? '', reason: get(3) });
      }
    }
  }
  return { reason, violations };
}

interface GrpcLikeError {
  code?: number;
  reason?: string;
  message?: string;
  details?: string;
  metadata?: { get(key: string): Array<string | Buffer> };
}

/** Any error from the client as a DataManagerApiError with reason and decoded field violations. */
export function toApiError(err: unknown, what: string): DataManagerApiError {
  if (err instanceof DataManagerApiError) return err;
  const e = (err ?? {}) as GrpcLikeError;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const bin = e.metadata?.get('grpc-status-details-bin')?.[0];
  const decoded = bin && typeof bin !== 'string' ? decodeStatusDetails(bin) : { violations: [] };
  const reason =
    decoded.reason ?? e.reason ?? (code !== undefined ? CODE_NAMES[code] : undefined) ?? 'UNKNOWN';
  const shown = decoded.violations
    .slice(0, 5)
    .map((v) => `${v.field}: ${v.reason ?? ''} ${v.description}`.replace(/\s+/g, ' ').trim());
  const codeName = code !== undefined ? (CODE_NAMES[code] ?? `code ${code}`) : 'error';
  const message =
    `${what} failed: ${codeName} ${reason}` +
    (shown.length ? ` (${shown.join('; ')}${decoded.violations.length > 5 ? '; ...' : ''})` : '') +
    (code === undefined && e.message ? `: ${e.message}` : '');
  return new DataManagerApiError(message, code, reason, decoded.violations);
}
