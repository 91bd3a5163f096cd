import { redact } from '../../../shared/redact.ts';

/**
 * A small client for Ecwid's REST API v3 (plain fetch: Ecwid ships no Node SDK). The token travels only in the
 * `Authorization: Bearer` header and never appears in an error. Requests are paced to the documented limit
 * (600 a minute per token); a 429 waits its Retry-After, 5xx and network errors are retried with backoff.
 */

export interface EcwidClientOptions {
  apiUrl: string;
  storeId: string;
  token: string;
  /** Client-side pace; Ecwid allows 600 a minute per token. */
  requestsPerMinute: number;
  /** Attempts per request on 5xx and network errors before giving up. */
  maxAttempts: number;
  /** First backoff (ms), doubled per attempt. */
  retryBaseMs: number;
  /** 429s answered in a row for one request before giving up (each waits its Retry-After). */
  maxRateLimited?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface EcwidPage<T> {
  total: number;
  count: number;
  offset: number;
  limit: number;
  items: T[];
}

/** Ecwid's page size limit. */
export const PAGE_LIMIT = 100;

/** A configuration problem a retry cannot fix (plan, token scopes): the message says what to do. */
export class EcwidConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EcwidConfigError';
  }
}

export class EcwidRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EcwidRequestError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class EcwidClient {
  /** Requests sent, and the time each waited for a 429's Retry-After (for the run's detail). */
  requests = 0;
  rateLimitedMs = 0;
  private nextSlot = 0;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: EcwidClientOptions) {
    this.sleep = options.sleep ?? defaultSleep;
  }

  get storeId(): string {
    return this.options.storeId;
  }

  /** GET `/{storeId}/{path}` with query parameters, as JSON. */
  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const url = new URL(
      `${this.options.apiUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.storeId)}/${path}`,
    );
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let failures = 0;
    let limited = 0;
    for (;;) {
      await this.pace();
      const response = await this.fetchOnce(url).catch((err: Error) => err);
      if (response instanceof Error || response.status >= 500) {
        failures++;
        const why = response instanceof Error ? this.clean(response.message) : `HTTP ${response.status}`;
        if (failures >= this.options.maxAttempts)
          throw new EcwidRequestError(
            `Ecwid store ${this.storeId}: GET /${path} failed ${failures} times (last: ${why}); the next run resumes from the last committed page`,
            response instanceof Error ? undefined : response.status,
          );
        await this.sleep(this.options.retryBaseMs * 2 ** (failures - 1));
        continue;
      }
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get('retry-after'));
        if (++limited > (this.options.maxRateLimited ?? 20))
          throw new EcwidRequestError(
            `Ecwid store ${this.storeId}: still rate limited (429) after ${limited - 1} waits on GET /${path}; another app may be using this token's 600 requests a minute`,
            429,
          );
        this.rateLimitedMs += wait;
        await this.sleep(wait);
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      throw await this.failure(path, response);
    }
  }

  /** One page of a list endpoint at `offset` (limit 100). */
  page<T>(path: string, query: Record<string, string | number | undefined>, offset: number) {
    return this.get<EcwidPage<T>>(path, { ...query, offset, limit: PAGE_LIMIT });
  }

  private async fetchOnce(url: URL): Promise<Response> {
    this.requests++;
    return fetch(url, {
      headers: {
        Authorization: `Bearer ${this.options.token}`,
        Accept: 'application/json',
        'Accept-Encoding': 'gzip',
      },
    });
  }

  /** Spaces request starts evenly at the configured rate, so a long pull never trips the per-minute limit. */
  private async pace(): Promise<void> {
    const gap = 60_000 / this.options.requestsPerMinute;
    const now = performance.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + gap;
    if (at > now) await this.sleep(at - now);
  }

  /** A non-retryable answer as an error naming the store and what to do; never the token. */
  private async failure(path: string, response: Response): Promise<Error> {
    const body = (await response.json().catch(() => ({}))) as { errorMessage?: string; errorCode?: string };
    const said = this.clean(
      [body.errorCode, body.errorMessage].filter(Boolean).join(': ') || response.statusText,
    );
    const store = `Ecwid store ${this.storeId}`;
    if (response.status === 402)
      return new EcwidConfigError(
        `${store}: the store's plan has no API access (402 ${said}); upgrade the store to a paid Ecwid plan, or remove ECWID_STORE_ID/ECWID_TOKEN to turn the source off`,
      );
    if (response.status === 403)
      return new EcwidConfigError(
        `${store}: access denied (403 ${said}); check that ECWID_TOKEN is this store's token and has the scopes read_store_profile, read_catalog, read_orders and read_customers (docs/ecwid.md)`,
      );
    if (response.status === 404)
      return new EcwidConfigError(`${store}: not found (404 ${said}) on GET /${path}; check ECWID_STORE_ID`);
    return new EcwidRequestError(
      `${store}: GET /${path} answered ${response.status} (${said})`,
      response.status,
    );
  }

  private clean(text: string): string {
    return redact(text, { secrets: { ECWID_TOKEN: this.options.token } });
  }
}

/** Retry-After in seconds (Ecwid sends whole seconds); a missing or unreadable value waits a minute's share. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
}
