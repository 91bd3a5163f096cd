import type { IngestionServiceClient, UserListServiceClient } from '@google-ads/datamanager';
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

const GRANTED = { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' } as const;
const ACCOUNT = (id: string) => ({ accountId: id, accountType: 'GOOGLE_ADS' as const });

interface Clients {
  ingestion: IngestionServiceClient;
  lists: UserListServiceClient;
  contactId: number;
}

/**
 * Google's clients, made on first use: the SDK and gRPC take about 0.3 s to load, which every command paid when they
 * were imported with the destination's definition.
 */
async function makeClients(config: GoogleAdsConfig): Promise<Clients> {
  const [sdk, grpc] = await Promise.all([import('@google-ads/datamanager'), import('@grpc/grpc-js')]);
  const [host, port] = config.endpoint ? config.endpoint.split(':') : [];
  const options = {
    ...(host ? { apiEndpoint: host, port: Number(port) } : {}),
    // Plaintext and no Google auth: universeDomain set so the client never probes for credentials.
    ...(config.insecure
      ? { sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' }
      : {}),
  };
  return {
    ingestion: new sdk.IngestionServiceClient(options),
    lists: new sdk.UserListServiceClient(options),
    contactId: sdk.protos.google.ads.datamanager.v1.IngestedUserListInfo.UploadKeyType.CONTACT_ID,
  };
}

export class DataManagerApi {
  private made?: Promise<Clients>;
  private readonly parent: string;

  constructor(
    private readonly config: GoogleAdsConfig,
    private readonly log: (m: string) => void,
  ) {
    this.parent = `accountTypes/GOOGLE_ADS/accounts/${config.customerId}`;
  }

  private clients(): Promise<Clients> {
    this.made ??= makeClients(this.config);
    return this.made;
  }

  async close(): Promise<void> {
    if (!this.made) return;
    const { ingestion, lists } = await this.made;
    await Promise.all([ingestion.close(), lists.close()]);
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
    const { lists: client } = await this.clients();
    const [lists] = await this.retrying('ListUserLists', () =>
      client.listUserLists({ parent: this.parent, filter }, { ...this.callOptions, autoPaginate: true }),
    );
    const id = lists?.find((l) => l.displayName === displayName)?.id;
    return id == null ? undefined : String(id);
  }

  async createList(displayName: string, description: string): Promise<string> {
    const { lists, contactId } = await this.clients();
    const [list] = await this.retrying('CreateUserList', () =>
      lists.createUserList(
        {
          parent: this.parent,
          userList: {
            displayName,
            description,
            membershipDuration: { seconds: this.config.membershipDays * 86_400 },
            ingestedUserListInfo: {
              uploadKeyTypes: [contactId],
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
    const { ingestion } = await this.clients();
    const [res] = await this.retrying('IngestAudienceMembers', () =>
      ingestion.ingestAudienceMembers({
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
    const { ingestion } = await this.clients();
    const [res] = await this.retrying('RemoveAudienceMembers', () =>
      ingestion.removeAudienceMembers({
        destinations: [this.destination(listId)],
        audienceMembers: members.map((m) => ({ userData: m })),
        encoding: 'HEX',
      }),
    );
    return res.requestId ?? '';
  }

  async requestStatus(requestId: string): Promise<RequestStatus> {
    const { ingestion } = await this.clients();
    const [res] = await this.retrying('RetrieveRequestStatus', () =>
      ingestion.retrieveRequestStatus({ requestId }),
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
