/*
 * Note for destination authors (H9b, Google Ads): this file is the contract, types only, and its shape stays stable.
 * A destination is one folder exporting a `DestinationDefinition` plus one line in ./registry.ts. Implement the
 * vendor operations of a `BatchDestination` (ensureAudience, sendAdds, sendRemoves, optionally replace) and the
 * SQL of its desired rows; the shared runner (./runner.ts) does the rest: the diff against destination_members,
 * the shrink guard (privacy removals never held), the per-audience lock, batching by `capabilities`,
 * confirm-per-batch resume, dry-run samples, destination_syncs rows and failure isolation per audience. Retry with
 * backoff and the retry budget stay inside each operation (Meta's: meta/graph.ts), because only the vendor knows
 * which errors are transient; throw `AudienceMissingError` when the vendor says the audience no longer exists.
 */
import type { z } from 'zod';
import type { Destination, SyncContext } from '../../plans/types.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/** What a destination can do, read by the runner to batch, guard and plan. */
export interface DestinationCapabilities {
  /** Most members one add or remove request may carry (Meta 10,000; Data Manager 10,000). */
  maxRowsPerRequest: number;
  /** Byte limit of one request (URL or body), when the vendor has one; enforced by `fitRows`. */
  maxRequestBytes?: number;
  /** The vendor can replace a whole audience (used by --full-refresh); else a full refresh resends every member. */
  replace: boolean;
  /** Fewest members an audience needs to be usable at the vendor (documentation; the runner never drops data). */
  minAudienceSize?: number;
}

/** One confirmed-or-planned row: what the runner diffs and stores in destination_members. */
export interface MemberRow {
  customer_id: string;
  /** Changes whenever what the destination would receive for this member changes. */
  fingerprint: string;
  /** What is sent (e.g. JSON of hashed identifiers); kept so removals can be sent after the customer is gone. */
  payload: string | null;
}

/** Everything an operation needs to address one audience at the vendor. */
export interface AudienceOp {
  wh: Warehouse;
  runId: string;
  /** Audience name as in audience_members.audience. */
  audience: string;
  /** The segment it comes from (for descriptions), when it still has members. */
  segment?: string;
  /** The vendor's id of the audience (absent only for ensureAudience). */
  externalId?: string;
  /** Already redacted by the runner before it is printed. */
  log: (message: string) => void;
}

/** One request's worth of rows for sendAdds / sendRemoves / replace. */
export interface UploadBatch {
  action: 'add' | 'remove' | 'replace';
  rows: MemberRow[];
  /** 1-based number of this batch within the action's upload; `last` marks the final one. */
  seq: number;
  last: boolean;
  /** Rows of this action in the whole upload. */
  total: number;
}

/** What the vendor answered for an accepted batch; handed to `onConfirmed` in the transaction confirming its rows. */
export interface BatchAck {
  /** Rows the vendor reported invalid (they are still confirmed: resending them would fail the same way). */
  invalid?: number;
  invalidSamples?: unknown[];
  /** The vendor's request id, when it gives one (stored for later status checks). */
  requestId?: string;
}

/** Thrown by an operation when the vendor says the audience no longer exists: reported, never recreated nightly. */
export class AudienceMissingError extends Error {
  override name = 'AudienceMissingError';
}

/** A destination that receives members in add / remove batches (Meta, Google Ads). */
export interface BatchDestination {
  readonly kind: 'batches';
  readonly name: string;
  readonly capabilities: DestinationCapabilities;
  /** Largest allowed drop of an audience, as a share of its last synced size (the shrink guard). */
  readonly maxShrink: number;
  /** A lock older than this belongs to a crashed run. */
  readonly lockTtlMs: number;
  /**
   * Creates temp table `table` holding this destination's desired rows of `audience`, read from the
   * `sendable_members` view (consented customers only): columns customer_id, fingerprint, payload, and
   * usable BOOLEAN (false: the member has no identifier this destination accepts; counted as unmatchable).
   */
  desiredRows(wh: Warehouse, table: string, audience: string): Promise<void>;
  /** Finds or creates the vendor audience and returns its id (the runner stores it before any member is sent). */
  ensureAudience(op: AudienceOp): Promise<string>;
  sendAdds(op: AudienceOp, batch: UploadBatch): Promise<BatchAck>;
  sendRemoves(op: AudienceOp, batch: UploadBatch): Promise<BatchAck>;
  /** Replaces the whole membership, batch by batch (only when capabilities.replace). */
  replace?(op: AudienceOp, batch: UploadBatch): Promise<BatchAck>;
  /**
   * Stores the destination's own record of an accepted batch (e.g. its request id), called inside the runner's
   * transaction that confirms the batch's rows, so both are kept or lost together.
   */
  onConfirmed?(op: AudienceOp, batch: UploadBatch, ack: BatchAck): Promise<void>;
  /** How many of the leading rows fit in one request of `action` (byte limits); default: all of them. */
  fitRows?(action: UploadBatch['action'], rows: MemberRow[], externalId: string): number;
  /** One row as it would be sent, for --dry-run samples (hashed, never raw). */
  sample(row: MemberRow): Record<string, string>;
  /**
   * A replace a crash interrupted (its last request never went out, so the vendor still holds its old membership):
   * 'resume' sends the rest through `replace` (the vendor's session continues), 'redo' replaces again from the
   * start, undefined when there is none. Only for destinations whose replace spans several requests.
   */
  interruptedReplace?(op: AudienceOp): Promise<'resume' | 'redo' | undefined>;
  /** How to get a new vendor audience once the old one was deleted on the vendor's side (ends the failure). */
  recreateHint?(audience: string): string;
  /** Removes secrets from a message before it is logged or stored. */
  redact?(message: string): string;
}

/**
 * A destination that writes each audience whole (files): it runs its own sync over the shared all-audiences plan
 * (plans/plan-all.ts) and the shared shrink guard; the runner only isolates its failure from other destinations.
 */
export interface WholeAudienceDestination extends Destination {
  readonly kind: 'whole';
  readonly capabilities: DestinationCapabilities;
}

export type DestinationConnector = BatchDestination | WholeAudienceDestination;

/** What one folder under connectors/destinations/ exports, listed once in ./registry.ts. */
export interface DestinationDefinition<S = unknown> {
  /** The key under `destinations.` in retarget.config.ts, and the name in `run --destinations`. */
  readonly name: string;
  /** Strict schema of `destinations.<name>` (an unknown key is an error naming it). Secrets never go here. */
  readonly settings: z.ZodType<S>;
  /** Environment variables it reads (its documentation), e.g. META_ACCESS_TOKEN. */
  readonly env: readonly string[];
  /** Enabled without any setting in the file (csv); else enabled by its environment or settings. */
  readonly enabledByDefault?: boolean;
  /**
   * The configured destination, or undefined when it is not enabled (no credentials set). Half a configuration
   * (an id without its token) throws, naming what is missing.
   */
  fromConfig(settings: S | undefined, env: NodeJS.ProcessEnv): DestinationConnector | undefined;
}

export type { SyncContext };
