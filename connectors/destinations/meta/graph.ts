import { randomInt } from 'node:crypto';
import type { AdAccount, FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import pRetry, { AbortError } from 'p-retry';
import { readAck, type UploadAck } from './ack.ts';
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

/** A session id: a 64-bit integer we choose, unique within the ad account (kept within JS's safe range). */
export function newSessionId(): number {
  return randomInt(1, 2 ** 47) * 64 + randomInt(0, 64);
}

/** Audiences per page of the account's list, and a bound on the pages read so a paging loop always ends. */
const AUDIENCES_PER_PAGE = 500;
const MAX_AUDIENCE_PAGES = 200;

/** The SDK's Cursor as used here: one page of audiences, and the way to the next. */
interface AudiencePage extends Iterable<unknown> {
  hasNext(): boolean;
  next(): Promise<AudiencePage>;
}

type Sdk = typeof import('facebook-nodejs-business-sdk');

/** The SDK's classes and this client's API instance. */
interface Connection {
  api: FacebookAdsApi;
  AdAccount: typeof AdAccount;
}

let sdk: Promise<Sdk> | undefined;
let activeGraphUrl = 'https://graph.facebook.com';

/**
 * The SDK, loaded on first use: it takes about 0.3 s to load, which every command paid when it came with the
 * destination's definition. It reads its host from the static getter FacebookAdsApi.GRAPH, which has no setter
 * but is configurable: redirected once, to the URL the current request's client set (useGraphUrl).
 */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('facebook-nodejs-business-sdk').then((m) => {
    Object.defineProperty(m.FacebookAdsApi, 'GRAPH', { get: () => activeGraphUrl, configurable: true });
    return m;
  });
  return sdk;
}

function useGraphUrl(url: string): void {
  activeGraphUrl = url;
}

/** Every Graph call goes through the official SDK, retried on throttling and transient failures. */
export class MetaGraph {
  private connection?: Promise<Connection>;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly config: MetaConfig,
    private readonly log: (message: string) => void = () => {},
  ) {
    this.sleep = config.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private connect(): Promise<Connection> {
    this.connection ??= loadSdk().then(({ FacebookAdsApi, AdAccount }) => ({
      // The third argument turns off the SDK's crash reporter (it would hook uncaughtException and post to Graph).
      api: FacebookAdsApi.init(this.config.accessToken, 'en_US', false),
      AdAccount,
    }));
    return this.connection;
  }

  /**
   * The Custom Audience of that name, found in the ad account (adopted) or created: never created twice. A
   * create whose answer was lost (connection reset, kill) left an audience behind; every attempt looks the name up
   * first, so the retry, or the next run, adopts it instead of leaving an empty orphan.
   */
  async ensureAudience(name: string, description: string): Promise<{ id: string; adopted: boolean }> {
    return this.call('find or create audience', async (connection) => {
      try {
        this.directory ??= await this.listAudiences(connection);
        const ids = this.directory.get(name) ?? [];
        if (ids.length > 1) {
          throw new MetaApiError(
            `${ids.length} Custom Audiences are named "${name}" in ad account act_${this.config.adAccountId} ` +
              `(ids ${ids.join(', ')}); delete all but one in Ads Manager, then run again`,
            {},
          );
        }
        if (ids[0]) return { id: ids[0], adopted: true };
        const id = await this.createAudience(connection, name, description);
        this.directory.set(name, [id]);
        return { id, adopted: false };
      } catch (err) {
        this.directory = undefined; // a create may have happened on Meta's side: look again before retrying
        throw err;
      }
    });
  }

  /** Audience ids by name, read once per sync: GET act_X/customaudiences?fields=id,name, every page. */
  private directory: Map<string, string[]> | undefined;

  private async listAudiences({ api, AdAccount }: Connection): Promise<Map<string, string[]>> {
    const account = new AdAccount(`act_${this.config.adAccountId}`, {}, undefined, api);
    const byName = new Map<string, string[]>();
    let page = (await account.getCustomAudiences(['id', 'name'], {
      limit: AUDIENCES_PER_PAGE,
    })) as unknown as AudiencePage;
    for (let pages = 1; ; pages++) {
      for (const item of page) {
        const { id, name } = (item as { _data?: { id?: unknown; name?: unknown } })._data ?? {};
        if (id && typeof name === 'string') byName.set(name, [...(byName.get(name) ?? []), String(id)]);
      }
      if (!page.hasNext()) return byName;
      if (pages >= MAX_AUDIENCE_PAGES) {
        throw new MetaApiError(
          `more than ${MAX_AUDIENCE_PAGES} pages of Custom Audiences in the account`,
          {},
        );
      }
      page = await page.next();
    }
  }

  /** Creates a customer-list Custom Audience and returns its id. */
  private async createAudience(
    { api, AdAccount }: Connection,
    name: string,
    description: string,
  ): Promise<string> {
    const account = new AdAccount(`act_${this.config.adAccountId}`, {}, undefined, api);
    const created = await account.createCustomAudience(['id'], {
      name,
      description,
      subtype: 'CUSTOM',
      customer_file_source: 'USER_PROVIDED_ONLY',
    });
    const id = (created as { _data?: { id?: unknown } })._data?.id;
    // Transient: the retry looks the name up, so an audience created behind an unreadable answer is adopted.
    if (!id)
      throw new MetaApiError('Meta answered the audience creation without an id', { isTransient: true });
    return String(id);
  }

  /**
   * Sends one batch of hashed rows: POST /users (add), DELETE /users (remove) or POST /usersreplace, and returns
   * Meta's acknowledgement of it. An answer that does not acknowledge exactly this batch (an HTML page, a count
   * short of the rows sent) is a transient failure: retried within the budget, never confirmed.
   */
  async upload(
    kind: UploadKind,
    audienceId: string,
    rows: readonly (readonly string[])[],
    session: MetaSession,
    receivedBefore: number,
  ): Promise<UploadAck> {
    const label = `${kind} batch ${session.batch_seq} (${rows.length} rows)`;
    const path = [audienceId, kind === 'replace' ? 'usersreplace' : 'users'];
    const sent = { audienceId, sessionId: session.session_id, rows: rows.length, receivedBefore };
    return this.call(label, async ({ api }) => {
      // A fresh params object per attempt: the SDK adds the token to the one it is given.
      const params = { payload: { schema: META_SCHEMA, data: rows }, session };
      const answer = await api.call<unknown>(kind === 'remove' ? 'DELETE' : 'POST', path, params);
      const read = readAck(answer, sent);
      if ('problem' in read) {
        throw new MetaApiError(`Meta's answer does not acknowledge the batch: ${read.problem}`, {
          isTransient: true,
        });
      }
      return read.ack;
    });
  }

  /**
   * Set when a request used up its whole retry budget on transient failures: Meta looks down or unreachable, so
   * later requests of this sync get one attempt each instead of each waiting out a full budget (a night with
   * Meta down must not run for hours); the first success clears it.
   */
  private unavailable = false;

  /** Runs one Graph request with exponential backoff + jitter, honouring Meta's time-to-regain-access. */
  private async call<T>(label: string, request: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await this.connect();
    const retry = this.unavailable ? { ...this.config.retry, retries: 0 } : this.config.retry;
    useGraphUrl(this.config.graphUrl);
    return pRetry(
      async () => {
        useGraphUrl(this.config.graphUrl);
        try {
          const result = await request(connection);
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
