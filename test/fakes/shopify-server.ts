import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Shopify Admin GraphQL API on 127.0.0.1, as documented (../shared/reference/store-platforms.md, B2):
 * POST /admin/api/{version}/graphql.json with X-Shopify-Access-Token; bulkOperationRunQuery (groupObjects false),
 * bulkOperation(id:) walking CREATED -> RUNNING -> COMPLETED (or FAILED with an errorCode), and a JSONL result at
 * a url of its own where child lines (`__parentId`) come before their parents, interleaved across parents. Every
 * response carries `extensions.cost`; a leaky bucket (maximumAvailable, restoreRate per second) answers THROTTLED
 * (HTTP 200) when a query costs more than is available. The bulk query is parsed enough to know the connection,
 * an `updated_at:>=` filter and an id-only scan.
 */

/** A node as Shopify returns it; array fields (lineItems, collections) are child connections. */
export type FakeNode = { id: string; updatedAt?: string } & Record<string, unknown>;

/** Nodes per root connection (customers, products, orders, abandonedCheckouts): a list, or a generator. */
export type FakeData = Record<string, FakeNode[] | (() => Iterable<FakeNode>)>;

export interface FakeShopifyOptions {
  token: string;
  data: FakeData;
  /** Leaky bucket: points available at most, points restored per second. */
  maximumAvailable?: number;
  restoreRate?: number;
  /** Cost of the bulkOperationRunQuery mutation and of a poll. */
  mutationCost?: number;
  pollCost?: number;
  /** Polls answered RUNNING before an operation completes. */
  runningPolls?: number;
  /** Roots per interleaved block of the result (children of the block first). */
  blockSize?: number;
}

interface Operation {
  id: string;
  connection: string;
  since: string | null;
  idsOnly: boolean;
  polls: number;
  failWith?: string;
}

export interface FakeShopifyStats {
  requests: number;
  throttled: number;
  unauthorized: number;
  bulkQueries: string[];
  downloads: number;
  /** Downloads of a result that carried the access token (they must not). */
  downloadsWithToken: number;
  serverErrors: number;
}

export class FakeShopifyServer {
  readonly stats: FakeShopifyStats = {
    requests: 0,
    throttled: 0,
    unauthorized: 0,
    bulkQueries: [],
    downloads: 0,
    downloadsWithToken: 0,
    serverErrors: 0,
  };
  /** The next operations started fail with these error codes (FAILED), one each. */
  readonly failNextOperations: string[] = [];
  /** The next GraphQL requests answer with these HTTP statuses (429 carries Retry-After: 1), one each. */
  readonly failNextRequests: number[] = [];
  private server: Server | undefined;
  private readonly operations = new Map<string, Operation>();
  private available: number;
  private lastRefill = Date.now();
  private url = '';

  constructor(readonly options: FakeShopifyOptions) {
    this.available = options.maximumAvailable ?? 2000;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Empties the bucket, so the next query is throttled until it refills. */
  drainBucket(): void {
    this.refill();
    this.available = 0;
  }

  private refill(): void {
    const now = Date.now();
    const max = this.options.maximumAvailable ?? 2000;
    this.available = Math.min(max, this.available + ((now - this.lastRefill) / 1000) * this.rate());
    this.lastRefill = now;
  }

  private rate(): number {
    return this.options.restoreRate ?? 100;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const bulk = /^\/bulk\/(\d+)\.jsonl$/.exec(url);
    if (req.method === 'GET' && bulk) return this.serveResult(req, res, bulk[1] as string);
    if (req.method !== 'POST' || !/^\/admin\/api\/[\w-]+\/graphql\.json$/.test(url))
      return json(res, 404, { errors: 'Not Found' });
    const body = JSON.parse(await readBody(req)) as { query: string; variables?: Record<string, unknown> };
    this.stats.requests++;
    if (req.headers['x-shopify-access-token'] !== this.options.token) {
      this.stats.unauthorized++;
      return json(res, 401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    }
    const status = this.failNextRequests.shift();
    if (status) {
      this.stats.serverErrors++;
      const headers = status === 429 ? { 'Retry-After': '1.0' } : {};
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      return void res.end(JSON.stringify({ errors: 'Internal error' }));
    }
    const isRun = body.query.includes('bulkOperationRunQuery');
    const cost = isRun ? (this.options.mutationCost ?? 10) : (this.options.pollCost ?? 1);
    this.refill();
    if (cost > this.available) {
      this.stats.throttled++;
      return json(res, 200, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
          },
        ],
        extensions: { cost: this.cost(cost, 0) },
      });
    }
    this.available -= cost;
    const data = isRun ? this.startOperation(String(body.variables?.query ?? '')) : this.poll(body);
    return json(res, 200, { data, extensions: { cost: this.cost(cost, cost) } });
  }

  private cost(requested: number, actual: number) {
    return {
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: {
        maximumAvailable: this.options.maximumAvailable ?? 2000,
        currentlyAvailable: Math.floor(this.available),
        restoreRate: this.rate(),
      },
    };
  }

  private startOperation(query: string) {
    this.stats.bulkQueries.push(query);
    const root = /^\s*\{\s*(\w+)\s*(?:\(\s*query:\s*"((?:[^"\\]|\\.)*)"\s*\))?\s*\{/.exec(query);
    if (!root || !((root[1] as string) in this.options.data))
      return {
        bulkOperationRunQuery: {
          bulkOperation: null,
          userErrors: [{ field: ['query'], message: `Invalid bulk query: ${query.slice(0, 60)}` }],
        },
      };
    const filter = root[2] ? JSON.parse(`"${root[2]}"`) : '';
    const since = /updated_at:>=\s*'([^']+)'/.exec(filter)?.[1] ?? null;
    const id = `gid://shopify/BulkOperation/${this.operations.size + 1}`;
    this.operations.set(id, {
      id,
      connection: root[1] as string,
      since,
      idsOnly: /node\s*\{\s*id\s*\}/.test(query),
      polls: 0,
      failWith: this.failNextOperations.shift(),
    });
    return {
      bulkOperationRunQuery: { bulkOperation: { id, status: 'CREATED' }, userErrors: [] },
    };
  }

  private poll(body: { query: string; variables?: Record<string, unknown> }) {
    if (!body.query.includes('bulkOperation(')) throw new Error(`fake: unsupported query ${body.query}`);
    const op = this.operations.get(String(body.variables?.id));
    if (!op) return { bulkOperation: null };
    op.polls++;
    const base = { id: op.id, errorCode: null, url: null, partialDataUrl: null, fileSize: null };
    if (op.polls <= (this.options.runningPolls ?? 1))
      return { bulkOperation: { ...base, status: 'RUNNING', objectCount: '0', rootObjectCount: '0' } };
    if (op.failWith)
      return { bulkOperation: { ...base, status: 'FAILED', errorCode: op.failWith, objectCount: '0' } };
    let objects = 0;
    let roots = 0;
    for (const line of this.lines(op)) {
      objects++;
      if (!line.includes('"__parentId"')) roots++;
    }
    const url = objects ? `${this.url}/bulk/${op.id.split('/').pop()}.jsonl` : null;
    return {
      bulkOperation: {
        ...base,
        status: 'COMPLETED',
        objectCount: String(objects),
        rootObjectCount: String(roots),
        url,
      },
    };
  }

  private async serveResult(req: IncomingMessage, res: ServerResponse, n: string): Promise<void> {
    const op = this.operations.get(`gid://shopify/BulkOperation/${n}`);
    if (!op) return json(res, 404, { errors: 'expired' });
    this.stats.downloads++;
    if (req.headers['x-shopify-access-token']) this.stats.downloadsWithToken++;
    res.writeHead(200, { 'content-type': 'application/jsonl' });
    let chunk = '';
    for (const line of this.lines(op)) {
      chunk += `${line}\n`;
      if (chunk.length >= 1 << 16) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        chunk = '';
      }
    }
    res.end(chunk);
  }

  /** The result's lines: per block of roots, every child first (round-robin across parents), then the roots. */
  private *lines(op: Operation): Generator<string> {
    const source = this.options.data[op.connection] ?? [];
    const nodes = typeof source === 'function' ? source() : source;
    const size = this.options.blockSize ?? 50;
    let block: FakeNode[] = [];
    const flush = function* (): Generator<string> {
      const children = block.map((node) =>
        Object.values(node)
          .filter(Array.isArray)
          .flat()
          .map((child) => JSON.stringify({ ...(child as object), __parentId: node.id })),
      );
      for (let i = 0; children.some((c) => i < c.length); i++)
        for (const c of children) if (i < c.length) yield c[i] as string;
      for (const node of block)
        yield JSON.stringify(Object.fromEntries(Object.entries(node).filter(([, v]) => !Array.isArray(v))));
      block = [];
    };
    for (const node of nodes) {
      if (op.since && (node.updatedAt ?? '') < op.since) continue;
      block.push(op.idsOnly ? { id: node.id } : node);
      if (block.length >= size) yield* flush();
    }
    yield* flush();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
