import { randomInt } from 'node:crypto';
import { AdAccount, CustomAudience, FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import pRetry, { AbortError } from 'p-retry';
import type { MetaConfig } from './config.ts';
import { MetaApiError, toMetaError } from './errors.ts';
import { META_SCHEMA } from './normalize.ts';

export type UploadKind = 'add' | 'remove' | 'replace';

export interface MetaSession {
  session_id: number;
  batch_seq: number;
  last_batch_flag: boolean;
  estimated_num_total: number;
}

export interface UploadResult {
  audience_id?: string;
  session_id?: number | string;
  num_received?: number;
  num_invalid_entries?: number;
  invalid_entry_samples?: unknown;
}

/** A session id: a 64-bit integer we choose, unique within the ad account (kept within JS's safe range). */
export function newSessionId(): number {
  return randomInt(1, 2 ** 47) * 64 + randomInt(0, 64);
}

let activeGraphUrl = 'https://graph.facebook.com';
let graphRedirected = false;

/** The SDK reads its host from the static getter FacebookAdsApi.GRAPH, which has no setter but is configurable. */
function useGraphUrl(url: string): void {
  activeGraphUrl = url;
  if (!graphRedirected) {
    Object.defineProperty(FacebookAdsApi, 'GRAPH', { get: () => activeGraphUrl, configurable: true });
    graphRedirected = true;
  }
}

/** Every Graph call goes through the official SDK, retried on throttling and transient failures. */
export class MetaGraph {
  private readonly api: FacebookAdsApi;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly config: MetaConfig,
    private readonly log: (message: string) => void = () => {},
  ) {
    // The third argument turns off the SDK's crash reporter (it would hook uncaughtException and post to Graph).
    this.api = FacebookAdsApi.init(config.accessToken, 'en_US', false);
    this.sleep = config.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Creates a customer-list Custom Audience and returns its id. */
  async createAudience(name: string, description: string): Promise<string> {
    const account = new AdAccount(`act_${this.config.adAccountId}`, {}, undefined, this.api);
    const created = await this.call('create audience', () =>
      account.createCustomAudience(['id'], {
        name,
        description,
        subtype: 'CUSTOM',
        customer_file_source: 'USER_PROVIDED_ONLY',
      }),
    );
    const id = (created as { id?: unknown }).id ?? (created as { _data?: { id?: unknown } })._data?.id;
    if (!id) throw new MetaApiError('Meta did not return an audience id', {});
    return String(id);
  }

  /** Sends one batch of hashed rows: POST /users (add), DELETE /users (remove) or POST /usersreplace. */
  async upload(
    kind: UploadKind,
    audienceId: string,
    rows: readonly (readonly string[])[],
    session: MetaSession,
  ): Promise<UploadResult> {
    const audience = new CustomAudience(audienceId, {}, undefined, this.api);
    const params = { payload: { schema: META_SCHEMA, data: rows }, session };
    const label = `${kind} batch ${session.batch_seq} (${rows.length} rows)`;
    const result = await this.call(label, () => {
      if (kind === 'remove') return audience.deleteUsers(params);
      if (kind === 'replace') return audience.createUsersReplace([], params);
      return audience.createUser([], params);
    });
    const data = (result as { _data?: UploadResult })._data ?? (result as UploadResult);
    return data ?? {};
  }

  /**
   * Set when a request used up its whole retry budget on transient failures: Meta looks down or unreachable, so
   * later requests of this sync get one attempt each instead of each waiting out a full budget (a night with
   * Meta down must not run for hours); the first success clears it.
   */
  private unavailable = false;

  /** Runs one Graph request with exponential backoff + jitter, honouring Meta's time-to-regain-access. */
  private async call<T>(label: string, request: () => Promise<T>): Promise<T> {
    const retry = this.unavailable ? { ...this.config.retry, retries: 0 } : this.config.retry;
    useGraphUrl(this.config.graphUrl);
    return pRetry(
      async () => {
        useGraphUrl(this.config.graphUrl);
        try {
          const result = await request();
          this.unavailable = false;
          return result;
        } catch (err) {
          const error = toMetaError(err, this.config.accessToken);
          if (!error.transient) throw new AbortError(error);
          throw error;
        }
      },
      {
        retries: retry.retries,
        minTimeout: retry.minTimeoutMs,
        maxTimeout: retry.maxTimeoutMs,
        maxRetryTime: retry.maxRetryTimeMs,
        factor: 2,
        randomize: true,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          const wait = error instanceof MetaApiError ? (error.info.regainAccessMs ?? 0) : 0;
          this.log(
            `meta: ${label} failed (attempt ${attemptNumber}, ${retriesLeft} retries left): ${error.message}` +
              (wait ? `; Meta asks to wait ${Math.round(wait / 1000)} s` : ''),
          );
          if (wait > retry.maxRegainWaitMs) {
            throw new MetaApiError(
              `throttled: Meta asks to wait ${Math.round(wait / 60_000)} min, more than the retry budget allows ` +
                `(${error.message})`,
              { ...(error as MetaApiError).info, isTransient: true },
            );
          }
          if (wait > 0 && retriesLeft > 0) await this.sleep(wait);
        },
      },
    ).catch((err: unknown) => {
      const error = err instanceof AbortError ? toMetaError(err.originalError, this.config.accessToken) : err;
      if (error instanceof MetaApiError && error.transient) this.unavailable = true;
      throw error;
    });
  }
}
