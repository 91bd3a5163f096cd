import { newSessionId } from './graph.ts';
import { META_SCHEMA } from './normalize.ts';

/** Where an upload session stands: a new one, or one resumed after a crash (Meta's count so far). */
export interface SessionStart {
  sessionId: number;
  startedAt: Date;
  /** num_received Meta reported for the session's last acknowledged batch (0 for a new session). */
  received: number;
}

export function newSession(): SessionStart {
  return { sessionId: newSessionId(), startedAt: new Date(), received: 0 };
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
