import { confirmPlanRows, forgetConfirmed, type Plan, readPlanRows } from '../../../plans/plan.ts';
import type { SyncContext } from '../../../plans/types.ts';
import { fixedDeleteUrlBytes, requestChunks } from './batches.ts';
import type { MetaConfig } from './config.ts';
import { type MetaGraph, newSessionId, type UploadKind } from './graph.ts';
import { META_SCHEMA } from './normalize.ts';
import { addSyncCounts, heartbeat, recordBatch } from './state.ts';

/** Per-audience outcome of the upload loop. */
export interface Sent {
  adds: number;
  removes: number;
  invalid: number;
  requests: number;
  invalidSamples: unknown[];
}

/** Where an upload session stands: a new one, or one resumed after a crash (next batch_seq, Meta's count). */
export interface SessionStart {
  sessionId: number;
  firstSeq: number;
  startedAt: Date;
  /** num_received Meta reported for the session's last acknowledged batch (0 for a new session). */
  received: number;
}

export function newSession(): SessionStart {
  return { sessionId: newSessionId(), firstSeq: 1, startedAt: new Date(), received: 0 };
}

/** Sends one action of a plan as a session, committing each acknowledged batch with its bookkeeping. */
export class Uploader {
  readonly sent: Sent = { adds: 0, removes: 0, invalid: 0, requests: 0, invalidSamples: [] };

  constructor(
    private readonly ctx: SyncContext,
    private readonly config: MetaConfig,
    private readonly graph: MetaGraph,
    private readonly plan: Plan,
    private readonly externalId: string,
    private readonly log: (m: string) => void,
  ) {}

  async send(kind: UploadKind, action: 'add' | 'remove', start: SessionStart = newSession()): Promise<void> {
    const { wh, runId } = this.ctx;
    const { plan, config } = this;
    const { sessionId, startedAt } = start;
    const total = action === 'add' ? plan.adds : plan.removes;
    const fixed =
      kind === 'remove'
        ? fixedDeleteUrlBytes(config.graphUrl, this.externalId, config.accessToken)
        : undefined;
    let seq = start.firstSeq;
    let received = start.received;
    const limits = {
      maxRows: config.batchSize,
      maxUrlBytes: kind === 'remove' ? config.maxUrlBytes : undefined,
      fixedUrlBytes: fixed,
    };
    const readPage = async (from: number) =>
      (await readPlanRows(wh, plan, action, from, config.batchSize)).map((r) =>
        parsePayload(r.payload, r.customer_id),
      );
    for await (const chunk of requestChunks(total, readPage, limits)) {
      const n = chunk.rows.length;
      const offset = chunk.offset;
      const last = offset + n >= total;
      const session = {
        session_id: sessionId,
        batch_seq: seq,
        last_batch_flag: last,
        estimated_num_total: total,
      };
      // Throws unless Meta acknowledged exactly this batch: then nothing of it is confirmed.
      const ack = await this.graph.upload(kind, this.externalId, chunk.rows, session, received);
      this.sent.requests++;
      const invalid = ack.num_invalid_entries;
      const batchSeq = seq;
      await wh.transaction(async () => {
        // The first replace batch wipes Meta's membership: forget what it held in the same transaction.
        if (kind === 'replace' && batchSeq === 1) await forgetConfirmed(wh, plan.destination, plan.audience);
        await confirmPlanRows(wh, plan, action, offset, n);
        await recordBatch(wh, {
          runId,
          audience: plan.audience,
          externalId: this.externalId,
          action: kind,
          sessionId,
          batchSeq,
          last,
          rows: n,
          numReceived: ack.num_received,
          numInvalid: invalid,
          invalidSamples: ack.invalid_entry_samples,
          sessionStartedAt: startedAt,
        });
        await addSyncCounts(wh, runId, plan.destination, plan.audience, {
          adds: action === 'add' ? n : 0,
          removes: action === 'remove' ? n : 0,
          invalid,
        });
        await heartbeat(wh, plan.destination, plan.audience, runId);
      });
      if (action === 'add') this.sent.adds += n;
      else this.sent.removes += n;
      this.sent.invalid += invalid;
      if (invalid > 0 && ack.invalid_entry_samples) this.sent.invalidSamples.push(ack.invalid_entry_samples);
      this.log(
        `meta: ${plan.audience}: ${kind} batch ${seq}: ${n} rows acknowledged (${offset + n}/${total})`,
      );
      received = ack.num_received;
      seq++;
    }
  }
}

export function parsePayload(payload: string | null, customerId: string): string[] {
  const row = payload ? (JSON.parse(payload) as unknown) : undefined;
  if (!Array.isArray(row) || row.length !== META_SCHEMA.length) {
    throw new Error(
      `meta: stored payload of customer ${customerId} does not match the schema ${META_SCHEMA.join(',')}`,
    );
  }
  return row.map(String);
}
