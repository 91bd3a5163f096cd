/**
 * What counts as Meta acknowledging one upload batch. A batch is confirmed (and never sent again) only on Meta's
 * documented success answer for exactly that batch; an HTTP 200 from a proxy's HTML page, or an answer counting
 * fewer rows than were sent, would otherwise lose those members (or removals) for good.
 */

/** Meta's answer to POST/DELETE /{id}/users and POST /{id}/usersreplace, once checked. */
export interface UploadAck {
  audience_id?: string;
  session_id: string;
  /** Rows received in the session so far (cumulative). */
  num_received: number;
  /** Rows of this batch Meta could not use (bad hash format, ...), with samples. */
  num_invalid_entries: number;
  invalid_entry_samples?: unknown;
}

export interface SentBatch {
  audienceId: string;
  sessionId: number;
  rows: number;
  /** num_received Meta reported for the previous batch of this session (0 for its first batch). */
  receivedBefore: number;
}

/**
 * The acknowledgement in `body`, or why it is none. Meta counts a session's rows cumulatively, so this batch
 * raised num_received by the rows sent; an answer that left out the batch's reported invalid entries is accepted
 * too.
 */
export function readAck(body: unknown, sent: SentBatch): { ack: UploadAck } | { problem: string } {
  if (typeof body === 'string') {
    return { problem: /^\s*</.test(body) ? 'an HTML page, not a Graph answer' : 'text, not a Graph answer' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { problem: 'not a Graph answer' };
  const answer = body as Record<string, unknown>;
  const received = count(answer.num_received);
  const invalid = count(answer.num_invalid_entries ?? 0);
  if (received === undefined) return { problem: 'no num_received in the answer' };
  if (invalid === undefined || invalid > sent.rows) return { problem: 'an unreadable num_invalid_entries' };
  if (String(answer.session_id ?? '') !== String(sent.sessionId)) {
    return { problem: `an answer for session ${String(answer.session_id)}, not ${sent.sessionId}` };
  }
  if (answer.audience_id !== undefined && String(answer.audience_id) !== sent.audienceId) {
    return { problem: `an answer for audience ${String(answer.audience_id)}, not ${sent.audienceId}` };
  }
  const counted = received - sent.receivedBefore;
  if (counted !== sent.rows && counted !== sent.rows - invalid) {
    return {
      problem:
        `num_received ${received} counts ${counted} of the ${sent.rows} rows sent` +
        (invalid > 0 ? ` (${invalid} invalid)` : ''),
    };
  }
  return {
    ack: {
      audience_id: answer.audience_id === undefined ? undefined : String(answer.audience_id),
      session_id: String(answer.session_id),
      num_received: received,
      num_invalid_entries: invalid,
      invalid_entry_samples: answer.invalid_entry_samples,
    },
  };
}

/** A count as Meta writes it: a number or a numeric string. */
function count(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}
