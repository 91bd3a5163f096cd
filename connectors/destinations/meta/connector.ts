import type { AudienceOp, BatchAck, BatchDestination, MemberRow, UploadBatch } from '../contract.ts';
import { AudienceMissingError } from '../contract.ts';
import { adoptOrCreateAudience, type Describe } from './audience.ts';
import { firstChunkSize, fixedDeleteUrlBytes } from './batches.ts';
import { META_DESTINATION, type MetaConfig } from './config.ts';
import { MetaApiError, redactToken } from './errors.ts';
import { MetaGraph, type MetaSession } from './graph.ts';
import { audienceSourceSql, createMetaRows, META_SCHEMA } from './normalize.ts';
import { abandonReplace, type PendingReplace, pendingReplace, recordBatch } from './state.ts';
import { newSession, parsePayload, type SessionStart } from './upload.ts';

/** Meta closes a session 90 minutes after its first batch; resume only well within that. */
const RESUME_WINDOW_MS = 80 * 60_000;

/**
 * Meta's operations for the shared runner: one customer-list Custom Audience per audience; every upload is a Meta
 * session (session_id, batch_seq, last_batch_flag) whose acknowledged batches are logged in meta_sync_batches, so
 * an interrupted replace continues its session within Meta's window.
 */
export function metaConnector(config: MetaConfig, describe?: Describe): BatchDestination {
  const sessions = new Map<string, SessionStart & { seqBase: number }>();
  const interrupted = new Map<string, PendingReplace & { resume: boolean }>();
  // One client per run: its list of the account's audiences is read once a run, never carried to the next.
  let graph: { runId: string; client: MetaGraph } | undefined;
  const graphFor = (op: AudienceOp) => {
    if (graph?.runId !== op.runId)
      graph = {
        runId: op.runId,
        client: new MetaGraph(config, (m) => op.log(redactToken(m, config.accessToken))),
      };
    return graph.client;
  };

  async function upload(op: AudienceOp, batch: UploadBatch): Promise<BatchAck> {
    const id = op.externalId!;
    const key = `${op.audience}\n${batch.action}`;
    if (batch.seq === 1) sessions.set(key, sessionFor(op.audience, batch.action));
    const s = sessions.get(key)!;
    const session: MetaSession = {
      session_id: s.sessionId,
      batch_seq: s.seqBase + batch.seq,
      last_batch_flag: batch.last,
      estimated_num_total: batch.total,
    };
    const rows = batch.rows.map((r) => parsePayload(r.payload, r.customer_id));
    try {
      // Throws unless Meta acknowledged exactly this batch: then nothing of it is confirmed.
      const ack = await graphFor(op).upload(batch.action, id, rows, session, s.received);
      s.received = ack.num_received;
      return {
        invalid: ack.num_invalid_entries,
        invalidSamples: ack.invalid_entry_samples ? [ack.invalid_entry_samples] : [],
      };
    } catch (err) {
      if (err instanceof MetaApiError && err.audienceMissing)
        throw new AudienceMissingError(
          `Meta Custom Audience ${id} no longer exists (deleted on Meta's side?); not recreated. Meta said: ${err.message}`,
        );
      throw err;
    }
  }

  /** A new session, or the interrupted replace's own one when it is being resumed. */
  function sessionFor(audience: string, action: UploadBatch['action']): SessionStart & { seqBase: number } {
    const pending = interrupted.get(audience);
    if (action === 'replace' && pending?.resume) {
      interrupted.delete(audience);
      const { sessionId, startedAt, received, lastSeq } = pending;
      return { sessionId, startedAt, received, seqBase: lastSeq }; // batch_seq continues after the last acknowledged
    }
    return { ...newSession(), seqBase: 0 };
  }

  return {
    kind: 'batches',
    name: META_DESTINATION,
    capabilities: { maxRowsPerRequest: config.batchSize, maxRequestBytes: config.maxUrlBytes, replace: true },
    maxShrink: config.maxShrink,
    lockTtlMs: config.lockTtlMs,
    desiredRows: (wh, table, audience) =>
      createMetaRows(wh, table, audienceSourceSql('$1'), [audience], {
        defaultCountry: config.defaultCountry,
      }),
    ensureAudience: (op) => adoptOrCreateAudience(op.wh, graphFor(op), config, op.audience, describe, op.log),
    sendAdds: upload,
    sendRemoves: upload,
    replace: upload,
    async onConfirmed(op, batch, ack) {
      const s = sessions.get(`${op.audience}\n${batch.action}`)!;
      await recordBatch(op.wh, {
        runId: op.runId,
        audience: op.audience,
        externalId: op.externalId!,
        action: batch.action,
        sessionId: s.sessionId,
        batchSeq: s.seqBase + batch.seq,
        last: batch.last,
        rows: batch.rows.length,
        numReceived: s.received,
        numInvalid: ack.invalid ?? 0,
        invalidSamples: ack.invalidSamples?.[0],
        sessionStartedAt: s.startedAt,
      });
      // A replace redone from scratch supersedes the interrupted one: close it so it is never resumed.
      const stale = interrupted.get(op.audience);
      if (batch.last && stale && !stale.resume) {
        await abandonReplace(op.wh, op.audience, stale.sessionId);
        interrupted.delete(op.audience);
      }
    },
    fitRows(action, rows: MemberRow[], externalId) {
      if (action !== 'remove') return rows.length;
      // DELETE requests carry their rows in the URL: they must also fit maxUrlBytes.
      return firstChunkSize(
        rows.map((r) => parsePayload(r.payload, r.customer_id)),
        {
          maxRows: config.batchSize,
          maxUrlBytes: config.maxUrlBytes,
          fixedUrlBytes: fixedDeleteUrlBytes(config.graphUrl, externalId, config.accessToken),
        },
      );
    },
    async interruptedReplace(op) {
      const pending = await pendingReplace(op.wh, op.audience, op.externalId!);
      if (!pending) return undefined;
      const resume = Date.now() - pending.startedAt.getTime() < RESUME_WINDOW_MS;
      interrupted.set(op.audience, { ...pending, resume });
      return resume ? 'resume' : 'redo';
    },
    sample(row) {
      const values = parsePayload(row.payload, row.customer_id);
      return Object.fromEntries(META_SCHEMA.map((k, i) => [k, values[i] ?? '']));
    },
    recreateHint: (audience) =>
      `To create a new one: npx tsx connectors/destinations/meta/forget.ts ${audience} (forgetMetaAudience; see docs/meta.md).`,
    redact: (m) => redactToken(m, config.accessToken),
  };
}
