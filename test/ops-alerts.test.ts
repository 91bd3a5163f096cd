import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type RetargetConfigInput } from '../config/config.ts';
import { runPipeline } from '../pipelines/run.ts';
import type { Destination } from '../plans/types.ts';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts';
import { cli, type Sandbox, sandbox, writeConfig, writeStore } from './ops-helpers.ts';

let hook: WebhookReceiver;
beforeAll(async () => {
  hook = await startWebhookReceiver();
});
afterAll(() => hook.close());
afterEach(() => {
  hook.requests.length = 0;
  hook.respondWith(200);
});

function configFor(s: Sandbox, alerts: RetargetConfigInput['alerts'] = {}) {
  return parseConfig(
    {
      database: s.db,
      sources: { files: { dir: s.store } },
      destinations: { csv: { dir: s.audiences } },
      segments: { dir: s.segments },
      alerts: { webhookUrl: hook.url, ...alerts },
    },
    'test',
  );
}

/** A destination whose shrink guard holds every audience (the message carries PII that must not leak). */
const holdingDestination: Destination = {
  name: 'guarded',
  async sync() {
    return {
      destination: 'guarded',
      audiences: [
        {
          audience: 'buyers',
          status: 'held',
          adds: 0,
          removes: 40,
          size: 60,
          message: 'shrinks 40% (last removed: jane.doe@example.com)',
        },
      ],
    };
  },
};

describe('alerts', () => {
  it('a failed run POSTs one JSON alert to the webhook and pipes it to the command, without secrets or PII', async () => {
    const s = sandbox();
    try {
      await writeStore(s.store, { customers: 5 });
      writeFileSync(join(s.store, 'orders.csv'), 'order_id,customer_id\no1,c1\n'); // ordered_at missing
      const dumped = join(s.dir, 'alert.json');
      writeConfig(s, {
        alerts: {
          command: `cat > '${dumped}'; echo "$RETARGET_ALERT_KIND" > '${dumped}.kind'; env > '${dumped}.env'`,
        },
      });
      const r = await cli(['--config', s.config, 'run'], {
        RETARGET_ALERT_WEBHOOK_URL: hook.url,
        META_ACCESS_TOKEN: 'EAAB-super-secret-token',
        META_AD_ACCOUNT_ID: '1234567890',
        META_GRAPH_URL: 'http://127.0.0.1:9', // never reached: the load fails first
      });
      expect(r.code).toBe(1);
      expect(hook.requests).toHaveLength(1);
      const req = hook.requests[0]!;
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      const alert = JSON.parse(req.body);
      expect(alert).toMatchObject({
        source: 'retarget',
        kind: 'run.failed',
        run: { status: 'failed', trigger: 'cli' },
        reasons: [{ kind: 'failure', step: 'load:files' }],
      });
      expect(alert.reasons[0].message).toMatch(/orders\.csv: missing required column ordered_at/);
      expect(alert.text).toMatch(/failed in load:files/);
      expect(JSON.parse(readFileSync(dumped, 'utf8'))).toEqual(alert);
      expect(readFileSync(`${dumped}.kind`, 'utf8').trim()).toBe('run.failed');
      // The command's environment: PATH, HOME, locale, time zone and the alert's own variables; no secret.
      const names = readFileSync(`${dumped}.env`, 'utf8')
        .split('\n')
        .map((line) => line.split('=')[0]!)
        .filter((name) => /^[A-Z_][A-Z0-9_]*$/.test(name) && !['PWD', 'SHLVL', '_'].includes(name));
      expect(names).toContain('PATH');
      expect(names).toContain('RETARGET_ALERT_TEXT');
      expect(
        names.filter((n) => !/^(PATH|HOME|LANG|LC_\w+|TZ|RETARGET_ALERT_(KIND|RUN_ID|STATUS|TEXT))$/.test(n)),
      ).toEqual([]);
      expect(readFileSync(`${dumped}.env`, 'utf8')).not.toContain('super-secret');
      for (const text of [req.body, r.stdout, r.stderr]) {
        expect(text).not.toMatch(/secret-path-token|super-secret|@example\.com/);
      }
      expect(r.stderr).toMatch(/alert sent \(webhook\)/);
    } finally {
      s.cleanup();
    }
  });

  it('alerts on held audiences and on a rejected-row spike; a quiet run sends nothing', async () => {
    const s = sandbox();
    try {
      await writeStore(s.store, { customers: 100 });
      const quiet = await runPipeline({ config: configFor(s), segments: [] });
      expect(quiet.status).toBe('succeeded');
      expect(quiet.alerts).toBeUndefined();
      expect(hook.requests).toHaveLength(0);

      // A new file with 2 bad rows in 100 (2%): loaded (under the 5% abort) but over the 1% alert share.
      const good = Array.from({ length: 98 }, (_, i) => JSON.stringify({ customer_id: `z${i}` }));
      const bad = [
        '{"customer_id":"y1","created_at":"yesterday"}',
        '{"customer_id":"y2","created_at":"31/02/2026"}',
      ];
      writeFileSync(join(s.store, 'customers.jsonl'), `${[...good, ...bad].join('\n')}\n`);
      const spiky = await runPipeline({
        config: configFor(s, { rejectedRows: { minRows: 2 } }),
        segments: [],
        destinations: [holdingDestination],
      });
      expect(spiky.status).toBe('succeeded');
      expect(hook.requests).toHaveLength(1);
      const alert = JSON.parse(hook.requests[0]!.body);
      expect(alert.kind).toBe('run.attention');
      expect(alert.reasons).toEqual([
        {
          kind: 'held',
          destination: 'guarded',
          audience: 'buyers',
          message: 'shrinks 40% (last removed: <email>)',
        },
        {
          kind: 'rejected_rows',
          table: 'customers',
          rowsRead: 100,
          rowsRejected: 2,
          share: 0.02,
          baseline: 0,
        },
      ]);
      expect(spiky.alerts?.deliveries).toEqual([{ channel: 'webhook', ok: true }]);

      // Rules can be switched off.
      hook.requests.length = 0;
      const off = await runPipeline({
        config: configFor(s, { onHeld: false, rejectedRows: false }),
        segments: [],
        destinations: [holdingDestination],
      });
      expect(off.alerts).toBeUndefined();
      expect(hook.requests).toHaveLength(0);
    } finally {
      s.cleanup();
    }
  });

  it('a spike is measured against the recent average of the table, not only its share', async () => {
    const s = sandbox();
    try {
      const config = configFor(s, { onHeld: false, rejectedRows: { share: 1, spikeFactor: 3, minRows: 2 } });
      // Each night brings a new customers file of 400 rows with `bad` unparseable created_at values.
      const night = async (n: number, bad: number) => {
        const rows = Array.from({ length: 400 }, (_, i) =>
          JSON.stringify({ customer_id: `n${n}-${i}`, created_at: i < bad ? 'garbage' : '2026-01-01' }),
        );
        writeFileSync(join(s.store, `customers.jsonl`), `${rows.join('\n')}\n`);
        const summary = await runPipeline({ config, segments: [], destinations: [] });
        expect(summary.status).toBe('succeeded');
        return summary.alerts?.reasons ?? [];
      };
      expect(await night(1, 2)).toMatchObject([{ kind: 'rejected_rows', rowsRejected: 2, baseline: 0 }]);
      expect(await night(2, 3)).toEqual([]); // 3 <= 3 x 2
      expect(await night(3, 7)).toEqual([]); // 7 <= 3 x 2.5
      expect(await night(4, 12)).toEqual([]); // 12 <= 3 x avg(2, 3, 7)
      expect(await night(5, 19)).toMatchObject([{ kind: 'rejected_rows', rowsRejected: 19, baseline: 6 }]); // 19 > 3 x 6
      expect(hook.requests).toHaveLength(2);
    } finally {
      s.cleanup();
    }
  });

  it('a webhook that fails is reported, never fails the run, and never shows its secret path', async () => {
    const s = sandbox();
    try {
      hook.respondWith(500);
      const summary = await runPipeline({
        config: configFor(s),
        segments: [],
        destinations: [holdingDestination],
      });
      expect(summary.status).toBe('succeeded');
      expect(summary.alerts?.deliveries).toEqual([
        { channel: 'webhook', ok: false, error: `${new URL(hook.url).origin} answered HTTP 500` },
      ]);
      const unreachable = await runPipeline({
        config: configFor(s, { webhookUrl: 'http://127.0.0.1:9/hooks/secret-path-token', timeoutSeconds: 2 }),
        segments: [],
        destinations: [holdingDestination],
      });
      expect(unreachable.alerts?.deliveries[0]).toMatchObject({ channel: 'webhook', ok: false });
      expect(unreachable.alerts?.deliveries[0]?.error).not.toMatch(/secret-path-token/);
      expect(existsSync(s.db)).toBe(true);
    } finally {
      s.cleanup();
    }
  });
});
