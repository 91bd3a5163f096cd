import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Ecwid REST API v3 on 127.0.0.1, speaking the documented protocol: `/{storeId}/<object>` with the token
 * in `Authorization: Bearer` only (a `token` query parameter is refused as Ecwid does since 2025), offset/limit
 * paging (limit at most 100) answering {total, count, offset, limit, items}, updatedFrom/updatedTo filters
 * (UNIX seconds), `/orders/deleted` and `/customers/deleted` (from_date/to_date), `GET /profile`, a per-minute
 * request limit answered with 429 + Retry-After, 402 for a plan without API access, and injectable 5xx failures.
 */

/** Objects are stored as Ecwid returns them; updateTimestamp (UNIX seconds) drives the updatedFrom filters. */
export type EcwidObject = Record<string, unknown> & { updateTimestamp?: number };

export interface FakeEcwidData {
  customers: EcwidObject[];
  products: EcwidObject[];
  categories: EcwidObject[];
  orders: EcwidObject[];
  carts: EcwidObject[];
  deletedOrders: Array<{ id: string; date: number }>;
  deletedCustomers: Array<{ id: number; date: number }>;
  currency: string;
}

export interface FakeEcwidOptions {
  storeId?: string;
  token?: string;
  /** Requests a minute before 429 (a sliding 60 s window, as a per-token limit). Default 600. */
  perMinute?: number;
  data?: Partial<FakeEcwidData>;
}

export interface FakeEcwidRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  status: number;
}

export class FakeEcwidServer {
  readonly storeId: string;
  readonly token: string;
  perMinute: number;
  data: FakeEcwidData;
  readonly requests: FakeEcwidRequest[] = [];
  /** Answer the next N API requests with 500. */
  failNext = 0;
  /** Answer every request with 402 (a plan without API access). */
  planWithoutApi = false;
  /** The limiter's clock (ms); tests advance their own instead of waiting a minute. */
  clock: () => number = Date.now;
  private readonly served: number[] = [];
  private server?: Server;

  constructor(options: FakeEcwidOptions = {}) {
    this.storeId = options.storeId ?? '1003';
    this.token = options.token ?? 'secret_fakeEcwidToken123';
    this.perMinute = options.perMinute ?? 600;
    this.data = {
      customers: [],
      products: [],
      categories: [],
      orders: [],
      carts: [],
      deletedOrders: [],
      deletedCustomers: [],
      currency: 'EUR',
      ...options.data,
    };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/api/v3`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [status, body, headers] = this.respond(url, req.headers.authorization);
    this.requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      status,
    });
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private respond(url: URL, authorization: string | undefined): [number, unknown, Record<string, string>?] {
    const error = (status: number, errorCode: string, errorMessage: string): [number, unknown] => [
      status,
      { errorMessage, errorCode },
    ];
    const prefix = `/api/v3/${this.storeId}/`;
    if (!url.pathname.startsWith(prefix)) return error(404, 'STORE_NOT_FOUND', 'Store not found');
    if (url.searchParams.has('token'))
      return error(403, 'INVALID_API_TOKEN', 'Token in query params is not supported');
    if (authorization !== `Bearer ${this.token}`) return error(403, 'INVALID_API_TOKEN', 'Invalid API token');
    const retryAfter = this.limited();
    if (retryAfter > 0)
      return [
        429,
        { errorMessage: 'Too many requests', errorCode: 'RATE_LIMITED' },
        { 'retry-after': String(retryAfter) },
      ];
    if (this.planWithoutApi)
      return error(402, 'NOT_AVAILABLE_ON_CURRENT_PLAN', 'API is not available on the current plan');
    if (this.failNext > 0) {
      this.failNext--;
      return error(500, 'INTERNAL_ERROR', 'Internal error');
    }
    const path = url.pathname.slice(prefix.length);
    const body = this.answer(path, url.searchParams);
    if (!body) return error(404, 'NOT_FOUND', `Unknown path ${path}`);
    if ('error' in body) return error(400, 'WRONG_PARAMETER', String(body.error));
    return [200, body];
  }

  /** Seconds to wait when this request exceeds the per-minute limit (0 when allowed, and then counted). */
  private limited(): number {
    const now = this.clock();
    while (this.served.length > 0 && (this.served[0] as number) <= now - 60_000) this.served.shift();
    if (this.served.length >= this.perMinute) {
      return Math.max(1, Math.ceil(((this.served[0] as number) + 60_000 - now) / 1000));
    }
    this.served.push(now);
    return 0;
  }

  private answer(path: string, q: URLSearchParams): Record<string, unknown> | undefined {
    const d = this.data;
    if (path === 'profile')
      return { generalInfo: { storeId: Number(this.storeId) }, formatsAndUnits: { currency: d.currency } };
    const lists: Record<string, EcwidObject[]> = {
      customers: d.customers,
      products: d.products,
      categories: d.categories,
      orders: d.orders,
      carts: d.carts,
    };
    if (path === 'orders/deleted' || path === 'customers/deleted') {
      const items = path === 'orders/deleted' ? d.deletedOrders : d.deletedCustomers;
      const from = num(q.get('from_date'));
      const to = num(q.get('to_date'));
      return page(
        items.filter((i) => (from === undefined || i.date >= from) && (to === undefined || i.date <= to)),
        q,
      );
    }
    const list = lists[path];
    if (!list) return undefined;
    const from = num(q.get('updatedFrom'));
    const to = num(q.get('updatedTo'));
    const filtered = list.filter((o) => {
      const at = o.updateTimestamp ?? 0;
      return (from === undefined || at >= from) && (to === undefined || at <= to);
    });
    return page(filtered, q);
  }
}

function num(value: string | null): number | undefined {
  return value === null ? undefined : Number(value);
}

function page(items: readonly unknown[], q: URLSearchParams): Record<string, unknown> {
  const offset = Number(q.get('offset') ?? 0);
  const limit = Number(q.get('limit') ?? 100);
  if (!(limit >= 1 && limit <= 100)) return { error: `limit must be 1..100, got ${q.get('limit')}` };
  const slice = items.slice(offset, offset + limit);
  return { total: items.length, count: slice.length, offset, limit, items: slice };
}
