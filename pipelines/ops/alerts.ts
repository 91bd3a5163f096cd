import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { redact } from '../../shared/redact.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import type { RunSummary } from '../run.ts';
import type { AlertsConfig } from './config-schema.ts';

/**
 * Alerts: after a run, tell someone when it failed, when a destination held an audience (shrink guard) or when
 * a table's rejected rows spiked. One JSON document per run, POSTed to a webhook and/or piped to a command.
 * Every text is redacted (shared/redact.ts: emails, phone-like numbers, secrets in any encoding): no PII, no
 * secrets; the command runs with a minimal environment (commandEnv), so it never inherits a secret either.
 */

export type AlertReason =
  | { kind: 'failure'; step: string; message: string }
  | { kind: 'held'; destination: string; audience: string; message: string }
  /** An audience that had members at the last real run and has none now (a typo or a stopped feed?). */
  | { kind: 'emptied'; audience: string; previousMembers: number }
  | {
      kind: 'rejected_rows';
      table: string;
      rowsRead: number;
      rowsRejected: number;
      share: number;
      /** Average rejected rows for this table over the previous runs that loaded it. */
      baseline: number;
    };

export interface AlertPayload {
  source: 'retarget';
  /** 'run.failed' when the run failed, else 'run.attention'. */
  kind: 'run.failed' | 'run.attention';
  /** One readable line (Slack-compatible). */
  text: string;
  run: { id: string; status: string; asOf: string; trigger?: string; host: string; database: string };
  reasons: AlertReason[];
}

export interface AlertDelivery {
  channel: 'webhook' | 'command';
  ok: boolean;
  error?: string;
}

/** Why this run deserves an alert (empty: no alert). Reads recent rejected-row history from the warehouse. */
export async function alertReasons(
  wh: Warehouse | undefined,
  summary: RunSummary,
  config: AlertsConfig,
): Promise<AlertReason[]> {
  const reasons: AlertReason[] = [];
  if (config.onFailure && summary.status === 'failed' && summary.error) {
    reasons.push({ kind: 'failure', step: summary.error.step, message: redact(summary.error.message) });
  }
  if (config.onHeld) {
    for (const d of summary.destinations) {
      for (const a of d.audiences.filter((x) => x.status === 'held')) {
        reasons.push({
          kind: 'held',
          destination: d.destination,
          audience: a.audience,
          message: redact(a.message ?? 'held by the shrink guard'),
        });
      }
    }
  }
  for (const a of summary.emptied ?? []) {
    reasons.push({ kind: 'emptied', audience: a.audience, previousMembers: a.previousMembers });
  }
  const rule = config.rejectedRows;
  if (rule !== false) {
    for (const t of summary.loads.filter((l) => l.rowsRejected >= rule.minRows)) {
      const baseline = wh ? await rejectedBaseline(wh, t.table, summary.runId) : 0;
      const share = t.rowsRead > 0 ? t.rowsRejected / t.rowsRead : 1;
      if (share > rule.share || t.rowsRejected > rule.spikeFactor * baseline) {
        reasons.push({
          kind: 'rejected_rows',
          table: t.table,
          rowsRead: t.rowsRead,
          rowsRejected: t.rowsRejected,
          share: Math.round(share * 10_000) / 10_000,
          baseline,
        });
      }
    }
  }
  return reasons;
}

/** Average rejected rows of a table over the 7 previous runs that loaded files of it. */
async function rejectedBaseline(wh: Warehouse, table: string, runId: string): Promise<number> {
  return wh.scalar(
    `WITH runs AS (
       SELECT DISTINCT f.run_id, r.started_at FROM loaded_files f JOIN pipeline_runs r USING (run_id)
       WHERE f.table_name = $1 AND f.run_id <> $2 ORDER BY r.started_at DESC LIMIT 7
     )
     SELECT COALESCE(avg((SELECT count(*) FROM rejected_rows x WHERE x.run_id = runs.run_id AND x.table_name = $1)), 0)
     FROM runs`,
    [table, runId],
  );
}

export function buildPayload(summary: RunSummary, reasons: AlertReason[], trigger?: string): AlertPayload {
  const host = hostname();
  const parts = reasons.map((r) => {
    switch (r.kind) {
      case 'failure':
        return `failed in ${r.step}: ${r.message}`;
      case 'held':
        return `${r.destination} held ${r.audience} (${r.message})`;
      case 'emptied':
        return `${r.audience} is empty (had ${r.previousMembers} members)`;
      default:
        return `${r.rowsRejected} of ${r.rowsRead} ${r.table} rows rejected (${(r.share * 100).toFixed(1)}%, recent average ${r.baseline.toFixed(0)})`;
    }
  });
  return {
    source: 'retarget',
    kind: summary.status === 'failed' ? 'run.failed' : 'run.attention',
    text: `retarget run ${summary.runId} on ${host} ${summary.status}: ${parts.join('; ')}`,
    run: {
      id: summary.runId,
      status: summary.status,
      asOf: summary.asOf,
      trigger,
      host,
      database: summary.database,
    },
    reasons,
  };
}

/** Sends the payload on every configured channel. Never throws: a failed delivery is reported, not fatal. */
export async function deliverAlert(
  payload: AlertPayload,
  config: AlertsConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AlertDelivery[]> {
  const deliveries: AlertDelivery[] = [];
  const url = env[config.webhookUrlEnv] || config.webhookUrl;
  const body = JSON.stringify(payload);
  if (url) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'retarget-alerts' },
        body,
        signal: AbortSignal.timeout(config.timeoutSeconds * 1000),
      });
      await res.arrayBuffer();
      // The URL may embed a secret: only its origin is ever shown.
      deliveries.push(
        res.ok
          ? { channel: 'webhook', ok: true }
          : { channel: 'webhook', ok: false, error: `${originOf(url)} answered HTTP ${res.status}` },
      );
    } catch (err) {
      deliveries.push({
        channel: 'webhook',
        ok: false,
        error: `${originOf(url)}: ${redact((err as Error).message)}`,
      });
    }
  }
  if (config.command) {
    deliveries.push(await runCommand(config.command, body, commandEnv(payload, env), config.timeoutSeconds));
  }
  return deliveries;
}

/** Variables the alert command inherits: enough to find programs and format text, never a secret. */
const INHERITED_ENV = /^(PATH|HOME|LANG|LC_[A-Z_]+|TZ)$/;

/**
 * The alert command's whole environment: PATH, HOME, locale and time zone from ours, plus the documented
 * RETARGET_ALERT_* variables. Nothing else, so META_ACCESS_TOKEN and every other secret stay in this process.
 */
function commandEnv(payload: AlertPayload, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inherited = Object.entries(env).filter(
    ([name, value]) => value !== undefined && INHERITED_ENV.test(name),
  );
  return {
    ...Object.fromEntries(inherited),
    RETARGET_ALERT_KIND: payload.kind,
    RETARGET_ALERT_RUN_ID: payload.run.id,
    RETARGET_ALERT_STATUS: payload.run.status,
    RETARGET_ALERT_TEXT: payload.text,
  };
}

function runCommand(
  command: string,
  body: string,
  env: NodeJS.ProcessEnv,
  timeoutSeconds: number,
): Promise<AlertDelivery> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: timeoutSeconds * 1000,
      env,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString();
    });
    child.stdin.on('error', () => {}); // a command that ignores its input closes the pipe early
    child.stdin.end(body);
    child.on('error', (err) => resolve({ channel: 'command', ok: false, error: redact(err.message) }));
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ channel: 'command', ok: true });
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const detail = stderr.trim().split('\n')[0];
        resolve({
          channel: 'command',
          ok: false,
          error: redact(`alert command ${why}${detail ? `: ${detail}` : ''}`),
        });
      }
    });
  });
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'webhook';
  }
}
