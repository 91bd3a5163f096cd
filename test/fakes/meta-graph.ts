/**
 * A local fake of Meta's Graph API (Custom Audiences), on 127.0.0.1, driven by the real SDK in tests.
 * Behaves as documented: validates schema keys, 64-hex lowercase hashes, <= 10,000 rows per request, session rules
 * (batch_seq from 1 and in order, one schema per session, last_batch_flag closes it, replace exclusivity), answers
 * with Meta's response and error shapes, lists an account's audiences in pages, and can inject throttling (80003 +
 * X-Business-Use-Case-Usage), 5xx, connection resets, HTML pages (also with HTTP 200), answers that acknowledge too
 * few rows, and errors quoting the request URL. Keeps each audience's membership (keyed by EXTERN_ID) so tests can
 * assert the final state.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Fault, type FaultTarget, RESET, serveFault, type UploadKind } from './meta-graph-faults.ts';
import {
  digest,
  graphError,
  HttpFailure,
  invalidParam,
  missing,
  parsePayload,
  parseSession,
  readBody,
  replaceError,
  rowKey,
  sessionSeq,
  str,
  unappliedAnswer,
} from './meta-graph-protocol.ts';

export const SESSION_TIMEOUT_MS = 90 * 60_000;

export interface FakeAudience {
  id: string;
  accountId: string;
  name: string;
  description?: string;
  subtype: string;
  customerFileSource: string;
  deleted: boolean;
  /** Current members: EXTERN_ID (or first identifier) -> row. */
  members: Map<string, string[]>;
}

interface FakeSession {
  id: string;
  audienceId: string;
  kind: UploadKind;
  schema: string;
  lastSeq: number;
  finished: boolean;
  startedAt: number;
  received: number;
  /** Rows of a replace, applied when its last batch arrives. */
  replaceRows: Map<string, string[]>;
  lastDigest?: string;
  lastResponse?: unknown;
}

export interface UploadLog {
  method: string;
  kind: UploadKind;
  audienceId: string;
  sessionId: string;
  batchSeq: number;
  last: boolean;
  rows: number;
  urlBytes: number;
  /** EXTERN_IDs in the batch. */
  keys: string[];
  status: number;
  errorCode?: number;
}

export interface FakeMetaGraphOptions {
  token?: string;
  accountId?: string;
  /** Longest URL accepted (a front-end limit); longer requests get HTTP 414. */
  maxUrlBytes?: number;
  /** Rows Meta would count as invalid entries, with the reason given in invalid_entry_samples. */
  invalid?: (row: string[], schema: string[]) => string | undefined;
  /** Largest page of the audience list (Graph's own cap); a smaller one exercises paging. */
  pageSize?: number;
  /** Awaited before each upload is processed, e.g. to stop a child process mid-sync. */
  beforeUpload?: (info: { kind: UploadKind; audienceId: string; batchSeq: number }) => Promise<void> | void;
  /** Awaited after an audience was created, before the answer is sent (e.g. to kill the client right then). */
  afterCreate?: (audienceId: string) => Promise<void> | void;
}

export class FakeMetaGraph {
  readonly token: string;
  readonly accountId: string;
  readonly audiences = new Map<string, FakeAudience>();
  readonly uploads: UploadLog[] = [];
  /** Times each EXTERN_ID was received in an add/replace that was applied (to prove "never sent twice"). */
  readonly addCounts = new Map<string, number>();
  readonly requestUrls: string[] = [];
  /** Injected faults actually served, in order. */
  readonly faultsServed: Array<{ kind: Fault['kind']; on: FaultTarget }> = [];
  /** Retried batches acknowledged again without being applied twice. */
  replays = 0;
  /** Pages of the audience list served. */
  listRequests = 0;
  private readonly sessions = new Map<string, FakeSession>();
  private readonly faults: Array<Fault & { left: number }> = [];
  private server?: Server;
  private nextId = 23850000000000000n;
  /** The fake's clock; tests may move it forward to time sessions out. */
  now = () => Date.now();
  url = '';

  constructor(private readonly options: FakeMetaGraphOptions = {}) {
    this.token = options.token ?? 'test-token-SECRET';
    this.accountId = options.accountId ?? '1234567890';
  }

  async start(): Promise<string> {
    this.server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(graphError(1, `fake crashed: ${(err as Error).message}`)));
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Deletes an audience as if someone removed it in Ads Manager. */
  deleteAudience(id: string): void {
    const a = this.audiences.get(id);
    if (a) a.deleted = true;
  }

  /** Creates an audience directly, as another tool (or a lost request) would have; returns its id. */
  addAudience(name: string): string {
    return this.create(this.accountId, {
      name,
      subtype: 'CUSTOM',
      customer_file_source: 'USER_PROVIDED_ONLY',
    }).id;
  }

  audience(id: string): FakeAudience | undefined {
    return this.audiences.get(id);
  }

  memberKeys(id: string): string[] {
    return [...(this.audiences.get(id)?.members.keys() ?? [])].sort();
  }

  private takeFault(on: FaultTarget, audienceId?: string): Fault | undefined {
    const f = this.faults.find(
      (x) => x.left > 0 && (!x.on || x.on === on) && (!x.audienceId || x.audienceId === audienceId),
    );
    if (f) f.left--;
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    this.requestUrls.push(rawUrl);
    const body = await readBody(req);
    try {
      if (this.options.maxUrlBytes && rawUrl.length > this.options.maxUrlBytes) {
        res.writeHead(414, { 'content-type': 'text/html' });
        res.end('<html><body>414 Request-URI Too Large</body></html>');
        return;
      }
      const url = new URL(rawUrl, 'http://127.0.0.1');
      const params: Record<string, unknown> = {};
      for (const [k, v] of url.searchParams) params[k] = v;
      if (body) {
        const ct = req.headers['content-type'] ?? '';
        if (ct.includes('json')) Object.assign(params, JSON.parse(body) as Record<string, unknown>);
        else for (const [k, v] of new URLSearchParams(body)) params[k] = v;
      }
      if (params.access_token !== this.token) {
        throw new HttpFailure(
          400,
          graphError(190, 'Invalid OAuth access token - Cannot parse access token', { error_subcode: 463 }),
        );
      }
      const parts = url.pathname.split('/').filter(Boolean);
      if (!/^v\d+\.\d+$/.test(parts[0] ?? '')) throw invalidParam('Unknown path components');
      const [, node, edge] = parts;
      const method = req.method ?? 'GET';
      let result: unknown;
      if (node?.startsWith('act_') && edge === 'customaudiences' && method === 'POST') {
        result = await this.withFaults('create', undefined, res, () => this.create(node.slice(4), params), {
          rawUrl,
        });
        if (result !== RESET) await this.options.afterCreate?.((result as { id: string }).id);
      } else if (node?.startsWith('act_') && edge === 'customaudiences' && method === 'GET') {
        result = await this.withFaults('list', undefined, res, () => this.list(node.slice(4), url), {
          rawUrl,
        });
      } else if (node && (edge === 'users' || edge === 'usersreplace')) {
        const kind: UploadKind = edge === 'usersreplace' ? 'replace' : method === 'DELETE' ? 'remove' : 'add';
        if (edge === 'usersreplace' && method !== 'POST') throw invalidParam('Unsupported method');
        if (edge === 'users' && method !== 'POST' && method !== 'DELETE')
          throw invalidParam('Unsupported method');
        await this.options.beforeUpload?.({ kind, audienceId: node, batchSeq: sessionSeq(params) });
        result = await this.withFaults(
          kind,
          node,
          res,
          () => this.upload(kind, node, params, rawUrl.length, method),
          { rawUrl, unapplied: () => unappliedAnswer(node, params) },
        );
      } else if (node && !edge && method === 'GET') {
        const a = this.audiences.get(node);
        if (!a || a.deleted) throw missing(node);
        result = { id: a.id, name: a.name, description: a.description };
      } else {
        throw invalidParam(`Unsupported ${method} request on ${url.pathname}`);
      }
      if (result === RESET) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
    } catch (err) {
      if (!(err instanceof HttpFailure)) throw err;
      res.writeHead(err.status, { 'content-type': 'application/json', ...err.headers });
      res.end(JSON.stringify(err.body));
    }
  }

  /** Applies injected faults around a handler: before it (request lost) or after it (answer lost). */
  private async withFaults(
    on: FaultTarget,
    audienceId: string | undefined,
    res: ServerResponse,
    apply: () => unknown,
    request: { rawUrl: string; unapplied?: () => Record<string, unknown> },
  ): Promise<unknown> {
    const fault = this.takeFault(on, audienceId);
    if (!fault) return apply();
    this.faultsServed.push({ kind: fault.kind, on });
    const answer = fault.afterApply ? apply() : undefined;
    return serveFault(fault, res, { ...request, answer, accountId: this.accountId });
  }

  /**
   * GET act_X/customaudiences?fields=id,name&limit=N[&after=cursor]: the account's audiences in creation order,
   * paged as Graph pages (cursors, and a `next` URL carrying the access token).
   */
  private list(accountId: string, url: URL) {
    if (accountId !== this.accountId) {
      throw new HttpFailure(
        400,
        graphError(100, `(#100) Ad account ${accountId} does not exist`, { error_subcode: 33 }),
      );
    }
    const fields = (url.searchParams.get('fields') ?? 'id').split(',');
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 25) || 25, this.options.pageSize ?? 500);
    const after = url.searchParams.get('after');
    const all = [...this.audiences.values()].filter((a) => a.accountId === accountId && !a.deleted);
    const start = after ? all.findIndex((a) => a.id === Buffer.from(after, 'base64url').toString()) + 1 : 0;
    const page = all.slice(start, start + limit);
    this.listRequests++;
    const data = page.map((a) =>
      Object.fromEntries(fields.map((f) => [f, f === 'id' ? a.id : a[f as 'name']])),
    );
    const cursor = (a: FakeAudience | undefined) => Buffer.from(a?.id ?? '').toString('base64url');
    const paging: Record<string, unknown> = {
      cursors: { before: cursor(page[0]), after: cursor(page.at(-1)) },
    };
    if (start + limit < all.length) {
      const next = new URL(url.toString().replace('http://127.0.0.1', this.url));
      next.searchParams.set('access_token', this.token);
      next.searchParams.set('after', cursor(page.at(-1)));
      paging.next = next.toString();
    }
    return { data, paging };
  }

  private create(accountId: string, params: Record<string, unknown>) {
    if (accountId !== this.accountId) {
      throw new HttpFailure(
        400,
        graphError(100, `(#100) Ad account ${accountId} does not exist`, { error_subcode: 33 }),
      );
    }
    const name = str(params.name);
    if (!name) throw invalidParam('The parameter name is required');
    if (params.subtype !== 'CUSTOM') throw invalidParam('subtype must be CUSTOM for customer lists');
    const source = str(params.customer_file_source);
    if (!['USER_PROVIDED_ONLY', 'PARTNER_PROVIDED_ONLY', 'BOTH_USER_AND_PARTNER_PROVIDED'].includes(source)) {
      throw invalidParam(
        'customer_file_source must be one of USER_PROVIDED_ONLY, PARTNER_PROVIDED_ONLY, ...',
      );
    }
    const id = String(this.nextId++);
    this.audiences.set(id, {
      id,
      accountId,
      name,
      description: str(params.description) || undefined,
      subtype: 'CUSTOM',
      customerFileSource: source,
      deleted: false,
      members: new Map(),
    });
    return { id };
  }

  private upload(
    kind: UploadKind,
    audienceId: string,
    params: Record<string, unknown>,
    urlBytes: number,
    method: string,
  ) {
    const log: UploadLog = {
      method,
      kind,
      audienceId,
      sessionId: '',
      batchSeq: 0,
      last: false,
      rows: 0,
      urlBytes,
      keys: [],
      status: 200,
    };
    this.uploads.push(log);
    try {
      return this.applyUpload(kind, audienceId, params, log);
    } catch (err) {
      if (err instanceof HttpFailure) {
        log.status = err.status;
        log.errorCode = (err.body as { error?: { code?: number } }).error?.code;
      }
      throw err;
    }
  }

  private applyUpload(kind: UploadKind, audienceId: string, params: Record<string, unknown>, log: UploadLog) {
    const audience = this.audiences.get(audienceId);
    if (!audience || audience.deleted) throw missing(audienceId);
    const { schema, rows } = parsePayload(params);
    const { sessionId, seq, last } = parseSession(params);
    Object.assign(log, { sessionId, batchSeq: seq, last, rows: rows.length });
    log.keys = rows.map((r) => rowKey(r, schema));

    const now = this.now();
    const openReplace = [...this.sessions.values()].find(
      (s) =>
        s.audienceId === audienceId &&
        s.kind === 'replace' &&
        !s.finished &&
        now - s.startedAt < SESSION_TIMEOUT_MS &&
        s.id !== sessionId,
    );
    if (openReplace) throw replaceError(1870145, 'Audience update in progress: a replace session is running');

    let s = this.sessions.get(sessionId);
    if (s && now - s.startedAt >= SESSION_TIMEOUT_MS && !s.finished) {
      s.finished = true;
      if (s.kind === 'replace') throw replaceError(1870158, 'The replace session timed out (90 minutes)');
      throw invalidParam('Session timed out');
    }
    if (!s) {
      if (seq !== 1) {
        if (kind === 'replace')
          throw replaceError(1870147, 'The first batch (batch_seq 1) of this session is missing');
        throw invalidParam('A new session must start with batch_seq 1');
      }
      s = {
        id: sessionId,
        audienceId,
        kind,
        schema: JSON.stringify(schema),
        lastSeq: 0,
        finished: false,
        startedAt: now,
        received: 0,
        replaceRows: new Map(),
      };
      this.sessions.set(sessionId, s);
    } else {
      if (s.audienceId !== audienceId || s.kind !== kind)
        throw invalidParam('Session belongs to another upload');
      if (s.finished && !(seq === s.lastSeq && s.lastDigest === digest(rows))) {
        if (kind === 'replace') throw replaceError(1870159, 'The replace session is already finished');
        throw invalidParam('Session already finished (last_batch_flag was sent)');
      }
      if (s.schema !== JSON.stringify(schema)) throw invalidParam('Schema changed within a session');
      // A retry of the last batch whose answer was lost: acknowledged again, not applied twice.
      if (seq === s.lastSeq && s.lastResponse && s.lastDigest === digest(rows)) {
        this.replays++;
        return s.lastResponse;
      }
      if (seq !== s.lastSeq + 1) {
        throw invalidParam(`batch_seq ${seq} out of order: expected ${s.lastSeq + 1}`);
      }
    }
    s.lastSeq = seq;
    s.received += rows.length;

    let invalid = 0;
    const samples: Record<string, string> = {};
    for (const r of rows) {
      const reason = this.options.invalid?.(r, schema);
      if (reason) {
        invalid++;
        if (Object.keys(samples).length < 10) samples[rowKey(r, schema)] = reason;
        continue;
      }
      const key = rowKey(r, schema);
      if (kind === 'remove') audience.members.delete(key);
      else {
        if (kind === 'add') audience.members.set(key, r);
        else s.replaceRows.set(key, r);
        this.addCounts.set(key, (this.addCounts.get(key) ?? 0) + 1);
      }
    }
    if (last) {
      s.finished = true;
      if (kind === 'replace') audience.members = new Map(s.replaceRows);
    }
    s.lastDigest = digest(rows);
    s.lastResponse = {
      audience_id: audienceId,
      session_id: sessionId,
      num_received: s.received,
      num_invalid_entries: invalid,
      invalid_entry_samples: samples,
    };
    return s.lastResponse;
  }
}
