import { redact } from '../../../shared/redact.ts';

/** Meta Graph errors, classified for retry, redacted: the token never survives in any encoding, nor does PII. */
export class MetaApiError extends Error {
  override readonly name = 'MetaApiError';
  constructor(
    message: string,
    readonly info: {
      status?: number | null;
      code?: number;
      subcode?: number;
      type?: string;
      fbtraceId?: string;
      isTransient?: boolean;
      /** Milliseconds Meta asks us to wait (X-Business-Use-Case-Usage estimated_time_to_regain_access). */
      regainAccessMs?: number;
      network?: boolean;
    },
  ) {
    super(message);
  }

  /** Throttling and transient failures worth retrying with backoff. */
  get transient(): boolean {
    const { status, code, isTransient, network } = this.info;
    if (network || isTransient) return true;
    if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
    if (code !== undefined && PERMANENT_CODES.has(code)) return false;
    return status != null && status >= 500;
  }

  /** The Custom Audience no longer exists (deleted on Meta's side) or is not visible to this token. */
  get audienceMissing(): boolean {
    return this.info.code === 100 && this.info.subcode === 33;
  }
}

/** 1 unknown, 2 service unavailable, 4/17/341/613 rate limits, 80003/80004 custom-audience / ads throttling. */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 341, 613, 80003, 80004]);
const PERMANENT_CODES = new Set([100, 190, 200, 368, 2650]);

interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
  error_user_msg?: string;
}

/** Longest estimated_time_to_regain_access (minutes) in an X-Business-Use-Case-Usage header, in ms. */
export function regainAccessMs(header: unknown): number {
  if (typeof header !== 'string' || header === '') return 0;
  try {
    const usage = JSON.parse(header) as Record<string, Array<{ estimated_time_to_regain_access?: number }>>;
    let minutes = 0;
    for (const entries of Object.values(usage)) {
      for (const e of Array.isArray(entries) ? entries : []) {
        minutes = Math.max(minutes, Number(e.estimated_time_to_regain_access) || 0);
      }
    }
    return minutes * 60_000;
  } catch {
    return 0;
  }
}

/** Turns whatever the SDK threw (FacebookRequestError, axios error, anything) into a MetaApiError. */
export function toMetaError(err: unknown, token: string): MetaApiError {
  if (err instanceof MetaApiError) return err;
  const e = (err ?? {}) as {
    status?: number | null;
    response?: unknown;
    headers?: Record<string, unknown> | null;
    message?: string;
    name?: string;
  };
  const isSdkError = e.name === 'FacebookRequestError';
  const body = (
    isSdkError && e.response && typeof e.response === 'object' ? e.response : {}
  ) as GraphErrorBody;
  const status = isSdkError ? (e.status ?? null) : null;
  const headers = e.headers ?? {};
  const regain = regainAccessMs(headers['x-business-use-case-usage']);
  const network = !isSdkError || (status == null && body.code === undefined);
  let message: string;
  if (body.message) {
    message = body.message;
    if (body.error_user_msg) message += ` (${body.error_user_msg})`;
  } else if (e.name === 'SyntaxError') {
    // The SDK tried to parse a non-JSON error page (a proxy or load balancer answered instead of Graph).
    message = 'unreadable (non-JSON) error response from the Graph host';
  } else if (network) {
    message = `network error: ${e.message ?? 'no response'}`;
  } else {
    message = `HTTP ${status}`;
  }
  const parts = [
    body.code !== undefined ? `code ${body.code}` : undefined,
    body.error_subcode !== undefined ? `subcode ${body.error_subcode}` : undefined,
    body.fbtrace_id ? `fbtrace_id ${body.fbtrace_id}` : undefined,
  ].filter(Boolean);
  if (parts.length) message += ` [${parts.join(', ')}]`;
  return new MetaApiError(redactToken(message, token), {
    status,
    code: body.code,
    subcode: body.error_subcode,
    type: body.type,
    fbtraceId: body.fbtrace_id,
    isTransient: body.is_transient,
    regainAccessMs: regain,
    network,
  });
}

/** The shared redaction, also hiding the access token handed over in code (it may not be in the environment). */
export function redactToken(text: string, token: string): string {
  return redact(text, { secrets: { META_ACCESS_TOKEN: token } });
}
