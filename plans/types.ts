import type { Warehouse } from '../warehouse/warehouse.ts';

/** What a destination is asked to do for one run. */
export interface SyncContext {
  wh: Warehouse;
  runId: string;
  asOf: Date;
  /** Plan and report, but send nothing and change no sync state. */
  dryRun: boolean;
  /** Sync audiences the shrink guard would hold. */
  force: boolean;
  /** Replace each audience's whole membership instead of sending a diff. */
  fullRefresh: boolean;
  /** Audiences (names as in audience_members.audience) to sync; every current audience when omitted. */
  audiences?: string[];
  log: (message: string) => void;
}

export type AudienceSyncStatus = 'synced' | 'unchanged' | 'held' | 'failed' | 'planned';

export interface AudienceSyncReport {
  audience: string;
  status: AudienceSyncStatus;
  /** Members the destination should gain / lose (planned, or sent when synced). */
  adds: number;
  removes: number;
  /** Members the destination will hold after the sync. */
  size: number;
  /** Consented members with no usable identifier for this destination. */
  unmatchable?: number;
  invalidEntries?: number;
  /** Requests sent (or planned, on a dry run). */
  requests?: number;
  /** A few rows as they would be sent (already hashed), for --dry-run. */
  samples?: unknown[];
  /** Why the audience was held or failed. */
  message?: string;
}

export interface DestinationReport {
  destination: string;
  audiences: AudienceSyncReport[];
  /** Why the destination failed as a whole (the other destinations still synced). */
  error?: string;
}

/** A place audiences are sent to. Each destination plans against what it last confirmed (destination_members). */
export interface Destination {
  readonly name: string;
  sync(ctx: SyncContext): Promise<DestinationReport>;
}
