/** Faults the Meta fake can inject, and how each is served (see FakeMetaGraph.inject). */
import type { ServerResponse } from 'node:http';
import { graphError, HttpFailure } from './meta-graph-protocol.ts';

export type UploadKind = 'add' | 'remove' | 'replace';
export type FaultTarget = UploadKind | 'create' | 'list';

/** Returned instead of an answer when the fault already ended the response (or the connection). */
export const RESET = Symbol('reset');

export interface Fault {
  /**
   * 'html': an HTML page (HTTP `status`, 502 by default; 200 for a proxy that answers "OK" with a page).
   * 'ack': HTTP 200 with a Graph-looking body that is not the batch's acknowledgement: `ack` is merged into the
   * real answer (with afterApply) or into an answer that counts nothing.
   */
  kind: 'throttle' | 'server' | 'reset' | 'html' | 'error' | 'ack';
  /** How many matching requests it hits (default 1). */
  times?: number;
  /** Only requests of this kind ('create' for audience creation, 'list' for reading the audience list). */
  on?: FaultTarget;
  audienceId?: string;
  /** For 'throttle': minutes in estimated_time_to_regain_access (default 0). */
  regainMinutes?: number;
  /** For 'error': Meta error fields. */
  code?: number;
  subcode?: number;
  message?: string;
  status?: number;
  /** For 'reset' / 'server' / 'html' / 'ack': apply the request before failing (the answer is lost, not the work). */
  afterApply?: boolean;
  /** For 'ack': fields that replace those of the answer, e.g. {num_received: 0}. */
  ack?: Record<string, unknown>;
  /** For 'error': quote the request URL (with its access_token) in the message, as some Graph errors do. */
  echoUrl?: boolean;
}

/**
 * Serves a fault: an answer to send as JSON with HTTP 200 ('ack'), RESET once the response or connection is
 * already dealt with, or an HttpFailure thrown for the fake to send.
 */
export function serveFault(
  fault: Fault,
  res: ServerResponse,
  request: { rawUrl: string; accountId: string; answer: unknown; unapplied?: () => Record<string, unknown> },
): unknown {
  switch (fault.kind) {
    case 'ack':
      return { ...((request.answer as object | undefined) ?? request.unapplied?.() ?? {}), ...fault.ack };
    case 'reset':
      res.socket?.destroy();
      return RESET;
    case 'html':
      // A proxy or load balancer answering instead of Graph.
      res.writeHead(fault.status ?? 502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return RESET;
    case 'server':
      throw new HttpFailure(
        fault.status ?? 500,
        graphError(2, 'An unexpected error has occurred. Please retry your request later.', {
          is_transient: true,
        }),
      );
    case 'throttle': {
      const usage = {
        [request.accountId]: [
          {
            type: 'CUSTOM_AUDIENCE',
            call_count: 100,
            total_cputime: 40,
            total_time: 60,
            estimated_time_to_regain_access: fault.regainMinutes ?? 0,
          },
        ],
      };
      throw new HttpFailure(
        400,
        graphError(80003, 'There have been too many calls for this ad-account. Wait a bit and try again.', {
          error_subcode: 2446079,
          is_transient: true,
        }),
        { 'x-business-use-case-usage': JSON.stringify(usage) },
      );
    }
    default: {
      const message = fault.message ?? 'Invalid parameter';
      throw new HttpFailure(
        fault.status ?? 400,
        graphError(fault.code ?? 100, fault.echoUrl ? `${message}: ${request.rawUrl}` : message, {
          ...(fault.subcode ? { error_subcode: fault.subcode } : {}),
        }),
      );
    }
  }
}
