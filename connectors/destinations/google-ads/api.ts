import { IngestionServiceClient, protos, UserListServiceClient } from '@google-ads/datamanager';
import * as grpc from '@grpc/grpc-js';
import type { GoogleAdsConfig } from './config.ts';
import { DataManagerApiError, toApiError } from './errors.ts';

/**
 * The few Data Manager calls the destination makes, through Google's client, each retried here with backoff and
 * jitter within a budget: the client retries nothing itself (every method is configured non-idempotent), and an
 * ingest or remove of the same hashed identifiers is safe to repeat.
 */
export interface MemberIdentifiers {
  userIdentifiers: object[];
}

export interface RequestStatus {
  status: string;
  recordCount?: number;
  identifierCount?: number;
  errorCounts: Record<string, number>;
  matchRateRange?: string;
}

const CONTACT_ID = protos.google.ads.datamanager.v1.IngestedUserListInfo.UploadKeyType.CONTACT_ID;
const GRANTED = { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' } as const;
const ACCOUNT = (id: string) => ({ accountId: id, accountType: 'GOOGLE_ADS' as const });

export class DataManagerApi {
  private readonly ingestion: IngestionServiceClient;
  private readonly lists: UserListServiceClient;
  private readonly parent: string;

  constructor(
    private readonly config: GoogleAdsConfig,
    private readonly log: (m: string) => void,
  ) {
    const [host, port] = config.endpoint ? config.endpoint.split(':') : [];
    const options = {
      ...(host ? { apiEndpoint: host, port: Number(port) } : {}),
      // Plaintext and no Google auth: universeDomain set so the client never probes for credentials.
      ...(config.insecure
        ? { sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' }
        : {}),
    };
    this.ingestion = new IngestionServiceClient(options);
    this.lists = new UserListServiceClient(options);
    this.parent = `accountTypes/GOOGLE_ADS/accounts/${config.customerId}`;
  }

  async close(): Promise<void> {
    await Promise.all([this.ingestion.close(), this.lists.close()]);
  }

  private get callOptions() {
    const login = this.config.loginCustomerId;
    return login
      ? { otherArgs: { headers: { 'login-account': `accountTypes/GOOGLE_ADS/accounts/${login}` } } }
      : {};
  }

  private destination(listId: string) {
    const login = this.config.loginCustomerId;
    return {
      operatingAccount: ACCOUNT(this.config.customerId),
      ...(login ? { loginAccount: ACCOUNT(login) } : {}),
      productDestinationId: listId,
    };
  }

  /** The id of the user list named `displayName`, or undefined (finds a list created by a run that crashed). */
  async findList(displayName: string): Promise<string | undefined> {
    const filter = `display_name = "${displayName.replace(/["\\]/g, '\\$&')}"`;
    const [lists] = await this.retrying('ListUserLists', () =>
      this.lists.listUserLists({ parent: this.parent, filter }, { ...this.callOptions, autoPaginate: true }),
    );
    const id = lists?.find((l) => l.displayName === displayName)?.id;
    return id == null ? undefined : String(id);
  }

  async createList(displayName: string, description: string): Promise<string> {
    const [list] = await this.retrying('CreateUserList', () =>
      this.lists.createUserList(
        {
          parent: this.parent,
          userList: {
            displayName,
            description,
            membershipDuration: { seconds: this.config.membershipDays * 86_400 },
            ingestedUserListInfo: {
              uploadKeyTypes: [CONTACT_ID],
              contactIdInfo: { dataSourceType: 'DATA_SOURCE_TYPE_FIRST_PARTY' },
            },
          },
        },
        this.callOptions,
      ),
    );
    if (list?.id == null)
      throw new DataManagerApiError('CreateUserList returned no list id', undefined, 'NO_ID');
    return String(list.id);
  }

  /** Adds members (consent granted, terms accepted, HEX); returns the request id. */
  async ingest(listId: string, members: MemberIdentifiers[]): Promise<string> {
    const [res] = await this.retrying('IngestAudienceMembers', () =>
      this.ingestion.ingestAudienceMembers({
        destinations: [this.destination(listId)],
        audienceMembers: members.map((m) => ({ userData: m, consent: GRANTED })),
        consent: GRANTED,
        encoding: 'HEX',
        termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' },
      }),
    );
    return res.requestId ?? '';
  }

  /** Removes members by the identifiers that were sent for them; returns the request id. */
  async remove(listId: string, members: MemberIdentifiers[]): Promise<string> {
    const [res] = await this.retrying('RemoveAudienceMembers', () =>
      this.ingestion.removeAudienceMembers({
        destinations: [this.destination(listId)],
        audienceMembers: members.map((m) => ({ userData: m })),
        encoding: 'HEX',
      }),
    );
    return res.requestId ?? '';
  }

  async requestStatus(requestId: string): Promise<RequestStatus> {
    const [res] = await this.retrying('RetrieveRequestStatus', () =>
      this.ingestion.retrieveRequestStatus({ requestId }),
    );
    const s = res.requestStatusPerDestination?.[0];
    const counts =
      s?.audienceMembersIngestionStatus?.userDataIngestionStatus ??
      s?.audienceMembersRemovalStatus?.userDataRemovalStatus;
    const range = s?.audienceMembersIngestionStatus?.userDataIngestionStatus?.uploadMatchRateRange;
    const errorCounts: Record<string, number> = {};
    for (const e of s?.errorInfo?.errorCounts ?? [])
      errorCounts[String(e.reason)] = Number(e.recordCount ?? 0);
    return {
      status: String(s?.requestStatus ?? 'REQUEST_STATUS_UNKNOWN'),
      recordCount: counts?.recordCount == null ? undefined : Number(counts.recordCount),
      identifierCount: counts?.userIdentifierCount == null ? undefined : Number(counts.userIdentifierCount),
      errorCounts,
      matchRateRange: range == null ? undefined : String(range),
    };
  }

  /** Calls `call`, retrying retryable codes with exponential backoff and full jitter until the budget is spent. */
  private async retrying<T>(what: string, call: () => Promise<T>): Promise<T> {
    const { retry } = this.config;
    const sleep = this.config.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const started = Date.now();
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (raw) {
        const err = toApiError(raw, what);
        const base = Math.min(retry.maxTimeoutMs, retry.minTimeoutMs * 2 ** attempt);
        const wait = Math.round(base * (1 + Math.random()));
        // Real waits show in the clock, injected ones (tests) only in `waited`.
        const spent = Math.max(Date.now() - started, waited);
        if (!err.retryable || attempt >= retry.retries || spent + wait > retry.maxRetryTimeMs) throw err;
        this.log(`google-ads: ${what}: ${err.reason}, retry ${attempt + 1} in ${wait} ms`);
        waited += wait;
        await sleep(wait);
      }
    }
  }
}
