/**
 * A local Data Manager API (google.ads.datamanager.v1) over plaintext gRPC on 127.0.0.1, built from the protos of
 * @google-ads/datamanager itself, so the real client talks to it unchanged. It serves IngestionService
 * (IngestAudienceMembers, RemoveAudienceMembers, RetrieveRequestStatus) and UserListService (CreateUserList,
 * ListUserLists, GetUserList), validates like Google (data-manager-rules.ts), keeps every list's members, records
 * every call, and injects faults (UNAVAILABLE, RESOURCE_EXHAUSTED, ... for the next N calls of a method).
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  DataManagerError,
  type MemberRequest,
  PROTO_INCLUDE_DIRS,
  validateMembers,
} from './data-manager-rules.ts';

export interface FakeList {
  id: string;
  name: string;
  account: string;
  displayName: string;
  description: string;
  membershipSeconds: string;
  /** Members by their canonical identifiers (JSON of the sorted identifier list). */
  members: Set<string>;
}

export interface ReceivedCall {
  method: string;
  /** Login account header (login-account), when sent. */
  loginAccount?: string;
  request: Record<string, unknown>;
  /** gRPC status answered (0 = OK). */
  code: number;
  reason?: string;
  requestId?: string;
}

interface RequestRecord {
  kind: 'ingest' | 'remove';
  listId: string;
  records: number;
  identifiers: number;
}

type Fault = { code: grpc.status; reason: string; times: number };

const ACCOUNT_PREFIX = 'accountTypes/GOOGLE_ADS/accounts/';

/** A member's identity as the fake keeps it: its identifiers, order-independent. */
export function memberKey(ids: object[]): string {
  return JSON.stringify(ids.map((i) => JSON.stringify(i)).sort());
}

export class FakeDataManager {
  readonly calls: ReceivedCall[] = [];
  readonly lists = new Map<string, FakeList>();
  private readonly requests = new Map<string, RequestRecord>();
  private readonly faults = new Map<string, Fault>();
  private server?: grpc.Server;
  /** "127.0.0.1:port" once started. */
  endpoint?: string;
  private nextListId = 9_000_000_001;
  /** Status RetrieveRequestStatus reports (tests may change it). */
  requestStatus = 'SUCCESS';
  /** Awaited before a call is applied: a test kills its client here; rejecting drops the call unanswered. */
  beforeCall?: (method: string, nth: number) => Promise<void>;
  matchRateRange = 'MATCH_RATE_RANGE_51_TO_60';

  /** Starts listening; returns "127.0.0.1:port" for DATA_MANAGER_ENDPOINT. */
  async start(): Promise<string> {
    const def = protoLoader.loadSync(
      [
        'google/ads/datamanager/v1/ingestion_service.proto',
        'google/ads/datamanager/v1/user_list_service.proto',
      ],
      { includeDirs: PROTO_INCLUDE_DIRS, keepCase: false, longs: String, enums: String, oneofs: true },
    );
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      google: { ads: { datamanager: { v1: Record<string, { service: grpc.ServiceDefinition }> } } };
    };
    const v1 = pkg.google.ads.datamanager.v1;
    const server = new grpc.Server();
    server.addService(v1.IngestionService!.service, {
      ingestAudienceMembers: this.handler('IngestAudienceMembers', (r) => this.members(r, 'ingest')),
      removeAudienceMembers: this.handler('RemoveAudienceMembers', (r) => this.members(r, 'remove')),
      retrieveRequestStatus: this.handler('RetrieveRequestStatus', (r) => this.status(r)),
    });
    server.addService(v1.UserListService!.service, {
      createUserList: this.handler('CreateUserList', (r, call) => this.createList(r, call)),
      listUserLists: this.handler('ListUserLists', (r) => this.listLists(r)),
      getUserList: this.handler('GetUserList', (r) => this.getList(r)),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
    this.endpoint = `127.0.0.1:${port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.tryShutdown(() => resolve()) : resolve(),
    );
  }

  /** The next `times` calls of `method` fail with `code` (e.g. grpc.status.UNAVAILABLE). */
  failNext(method: string, code: grpc.status, times = 1, reason = grpc.status[code]): void {
    this.faults.set(method, { code, reason, times });
  }

  /** A list removed on Google's side (in the Google Ads UI, say). */
  deleteList(id: string): void {
    this.lists.delete(id);
  }

  callsOf(method: string): ReceivedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Email hashes of a list's members, sorted. */
  emailHashes(listId: string): string[] {
    const list = this.lists.get(listId);
    if (!list) return [];
    return [...list.members]
      .flatMap((k) => (JSON.parse(k) as string[]).map((s) => JSON.parse(s) as { emailAddress?: string }))
      .flatMap((i) => (i.emailAddress ? [i.emailAddress] : []))
      .sort();
  }

  private handler(
    method: string,
    answer: (req: Record<string, unknown>, call: grpc.ServerUnaryCall<unknown, unknown>) => object,
  ): grpc.handleUnaryCall<unknown, unknown> {
    return async (call, callback) => {
      try {
        await this.beforeCall?.(method, this.callsOf(method).length + 1);
      } catch {
        return; // the client died before Google applied the request
      }
      const request = call.request as Record<string, unknown>;
      const loginAccount = call.metadata.get('login-account')[0]?.toString();
      const record: ReceivedCall = { method, loginAccount, request, code: 0 };
      this.calls.push(record);
      try {
        const fault = this.faults.get(method);
        if (fault && fault.times > 0) {
          fault.times--;
          throw new DataManagerError(fault.code, fault.reason, [], `injected ${fault.reason}`);
        }
        const response = answer(request, call);
        record.requestId = (response as { requestId?: string }).requestId;
        callback(null, response);
      } catch (err) {
        if (!(err instanceof DataManagerError)) throw err;
        record.code = err.code;
        record.reason = err.reason;
        callback(err.toServiceError() as grpc.ServiceError);
      }
    };
  }

  private members(req: Record<string, unknown>, kind: 'ingest' | 'remove'): object {
    const r = req as MemberRequest;
    const known = (account: string, id: string) => this.lists.get(id)?.account === account;
    const problem = validateMembers(r, kind, known);
    if (problem) throw problem;
    const list = this.lists.get(r.destinations![0]!.productDestinationId!)!;
    let identifiers = 0;
    for (const m of r.audienceMembers ?? []) {
      const ids = m.userData?.userIdentifiers ?? [];
      identifiers += ids.length;
      if (kind === 'ingest') list.members.add(memberKey(ids));
      else list.members.delete(memberKey(ids));
    }
    const requestId = randomUUID();
    const records = r.audienceMembers?.length ?? 0;
    this.requests.set(requestId, { kind, listId: list.id, records, identifiers });
    return { requestId };
  }

  private status(req: Record<string, unknown>): object {
    const rec = this.requests.get(String(req.requestId ?? ''));
    if (!rec) throw new DataManagerError(grpc.status.INVALID_ARGUMENT, 'INVALID_REQUEST_ID');
    const counts = { recordCount: String(rec.records), userIdentifierCount: String(rec.identifiers) };
    const failed = this.requestStatus === 'FAILED' || this.requestStatus === 'PARTIAL_SUCCESS';
    return {
      requestStatusPerDestination: [
        {
          destination: { productDestinationId: rec.listId },
          requestStatus: this.requestStatus,
          errorInfo: failed
            ? { errorCounts: [{ recordCount: '2', reason: 'PROCESSING_ERROR_REASON_NO_CONSENT' }] }
            : undefined,
          ...(rec.kind === 'ingest'
            ? {
                audienceMembersIngestionStatus: {
                  userDataIngestionStatus: { ...counts, uploadMatchRateRange: this.matchRateRange },
                },
              }
            : { audienceMembersRemovalStatus: { userDataRemovalStatus: counts } }),
        },
      ],
    };
  }

  private account(parent: unknown): string {
    const s = String(parent ?? '');
    if (!s.startsWith(ACCOUNT_PREFIX))
      throw new DataManagerError(grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', [
        { field: 'parent', description: 'Invalid parent.', reason: 'INVALID_ARGUMENT' },
      ]);
    return s.slice(ACCOUNT_PREFIX.length);
  }

  private createList(req: Record<string, unknown>, _call: unknown): object {
    const account = this.account(req.parent);
    const u = (req.userList ?? {}) as Record<string, unknown>;
    const displayName = String(u.displayName ?? '');
    const seconds = Number((u.membershipDuration as { seconds?: string } | undefined)?.seconds ?? 0);
    const bad = (reason: string, field: string) =>
      new DataManagerError(grpc.status.INVALID_ARGUMENT, reason, [{ field, description: reason, reason }]);
    if (!displayName) throw bad('INVALID_ARGUMENT', 'user_list.display_name');
    if ([...this.lists.values()].some((l) => l.account === account && l.displayName === displayName))
      throw bad('DISPLAY_NAME_ALREADY_USED', 'user_list.display_name');
    if (seconds % 86_400 !== 0) throw bad('INVALID_ARGUMENT', 'user_list.membership_duration');
    if (seconds > 540 * 86_400) throw bad('MEMBERSHIP_DURATION_TOO_LONG', 'user_list.membership_duration');
    const id = String(this.nextListId++);
    const list: FakeList = {
      id,
      name: `${ACCOUNT_PREFIX}${account}/userLists/${id}`,
      account,
      displayName,
      description: String(u.description ?? ''),
      membershipSeconds: String(seconds),
      members: new Set(),
    };
    this.lists.set(id, list);
    return this.userList(list);
  }

  private listLists(req: Record<string, unknown>): object {
    const account = this.account(req.parent);
    const m = /^display_name = "(.*)"$/.exec(String(req.filter ?? ''));
    const lists = [...this.lists.values()].filter(
      (l) => l.account === account && (!m || l.displayName === m[1]),
    );
    return { userLists: lists.map((l) => this.userList(l)) };
  }

  private getList(req: Record<string, unknown>): object {
    const list = [...this.lists.values()].find((l) => l.name === req.name);
    if (!list) throw new DataManagerError(grpc.status.NOT_FOUND, 'NOT_FOUND');
    return this.userList(list);
  }

  private userList(l: FakeList): object {
    return {
      name: l.name,
      id: l.id,
      displayName: l.displayName,
      description: l.description,
      membershipDuration: { seconds: l.membershipSeconds },
    };
  }
}
