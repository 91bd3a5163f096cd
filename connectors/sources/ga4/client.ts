import type { BetaAnalyticsDataClient, protos } from '@google-analytics/data';
import pRetry from 'p-retry';
import type { Ga4Config } from './config.ts';
import type { Ga4Logger } from './log.ts';

export type RunReportRequest = protos.google.analytics.data.v1beta.IRunReportRequest;
export type RunReportResponse = protos.google.analytics.data.v1beta.IRunReportResponse;
export type Ga4Metadata = protos.google.analytics.data.v1beta.IMetadata;

/** The two calls the source makes; the real client fits, and so would any stand-in with the same shape. */
export interface Ga4Api {
  runReport(
    request: RunReportRequest,
    options?: { timeout?: number },
  ): Promise<[RunReportResponse, ...unknown[]]>;
  getMetadata(
    request: { name: string },
    options?: { timeout?: number },
  ): Promise<[Ga4Metadata, ...unknown[]]>;
  close(): Promise<void>;
}

/** gRPC status codes that matter here. */
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const TRANSIENT = new Set([UNAVAILABLE, DEADLINE_EXCEEDED]);

/** The property's quota is spent (daily/hourly tokens, or GA4 said RESOURCE_EXHAUSTED): stop and resume later. */
export class Ga4QuotaExhausted extends Error {
  override name = 'Ga4QuotaExhausted';
}

export async function createGa4Client(config: Ga4Config): Promise<Ga4Api> {
  const options: NonNullable<ConstructorParameters<typeof BetaAnalyticsDataClient>[0]> = {};
  if (config.endpoint) {
    const at = config.endpoint.lastIndexOf(':');
    options.apiEndpoint = config.endpoint.slice(0, at);
    options.port = Number(config.endpoint.slice(at + 1));
  }
  if (config.insecure) {
    // Plaintext to a local server: no Google credentials, and no probing for a GCE metadata server.
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    const grpc = await import('@grpc/grpc-js');
    options.sslCreds = grpc.credentials.createInsecure();
  } else if (config.credentialsFile) {
    options.keyFilename = config.credentialsFile;
  }
  // Loaded here, not at the top: Google's client and gRPC take about 0.3 s to load, which every command paid.
  const { BetaAnalyticsDataClient: Client } = await import('@google-analytics/data');
  return new Client(options) as unknown as Ga4Api;
}

export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  timeoutMs: number;
}

/**
 * Calls GA4 with backoff on transient gRPC errors (UNAVAILABLE, DEADLINE_EXCEEDED); RESOURCE_EXHAUSTED becomes
 * Ga4QuotaExhausted; anything else fails at once with GA4's message.
 */
export async function callGa4<T>(
  what: string,
  call: (timeout: number) => Promise<T>,
  policy: RetryPolicy,
  log: Ga4Logger,
): Promise<T> {
  try {
    return await pRetry(() => call(policy.timeoutMs), {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      randomize: true,
      shouldRetry: ({ error }) => TRANSIENT.has(grpcCode(error) ?? -1),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (TRANSIENT.has(grpcCode(error) ?? -1) && retriesLeft > 0)
          log.warn(
            { what, attempt: attemptNumber, retriesLeft, error: error.message },
            'GA4 call failed, retrying',
          );
      },
    });
  } catch (err) {
    if (grpcCode(err) === RESOURCE_EXHAUSTED) throw new Ga4QuotaExhausted((err as Error).message);
    throw new Error(`GA4 ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}
