import { describe, expect, it } from 'vitest';
import { terminalReporter } from '../pipelines/cli/reporter.ts';
import { finishRun, recordStep, startRun } from '../pipelines/run-records.ts';
import { redact } from '../shared/redact.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { cli, sandbox } from './ops-helpers.ts';

/** A token with URL-unsafe characters: every encoding of it differs from the raw text. */
const TOKEN = 'EAAB|abc/+=def"x y\\z';
const env = { META_ACCESS_TOKEN: TOKEN, HOME: '/home/someone-long-enough', SHORT_KEY: 'abc' };

/** Every form the token travels in: raw, URL-encoded (twice too), form-encoded, JSON- and slash-escaped. */
const encodings = {
  raw: TOKEN,
  encodeURIComponent: encodeURIComponent(TOKEN),
  lowercaseHex: encodeURIComponent(TOKEN).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
  doubleEncoded: encodeURIComponent(encodeURIComponent(TOKEN)),
  formEncoded: new URLSearchParams({ t: TOKEN }).toString().slice(2),
  json: JSON.stringify(TOKEN).slice(1, -1),
  jsonEscapedSlashes: JSON.stringify(TOKEN).slice(1, -1).replace(/\//g, '\\/'),
  jsonOfEncoded: JSON.stringify(JSON.stringify(encodeURIComponent(TOKEN))),
  unicodeEscaped: [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
};

describe('redact: one function for logs, run records and alerts', () => {
  it('hides emails, phone numbers, credentials in URLs and secret values, keeping timestamps, counts, ids, paths', () => {
    expect(
      redact(
        'Jane <JANE.Doe@Example.org> +1 (555) 123-4567 at 2026-11-22 03:00:00: 1234 rows; ' +
          'GET /v19.0/act_1/customaudiences?access_token=EAABother&x=1 Authorization: Bearer abc.def.ghi; Invalid OAuth access token',
        { env },
      ),
    ).toBe(
      'Jane <<email>> <number> at 2026-11-22 03:00:00: 1234 rows; ' +
        'GET /v19.0/act_1/customaudiences?access_token=<redacted>&x=1 Authorization: Bearer <redacted>; Invalid OAuth access token',
    );
    const readable =
      'run r20261122T031500Z-7f3a: /srv/data/orders_2026-11.csv: 45,284 of 45284 rows; audience 23850000000000017 ' +
      'at 2026-11-22T03:00:00.000Z took 12.5 s; /home/someone-long-enough/db; act_1234567890; ' +
      'sha256 f1904cf1a9d73a55fa5de0ac823c4403ded71afd4c3248d00bdcd0866552bb79';
    expect(redact(readable, { env })).toBe(readable);
    expect(redact('postgres://shop:hunter2hunter2@db.internal/x', { env })).toBe(
      'postgres://<redacted>@db.internal/x',
    );
    expect(redact('call 06 1234 5678 or 0039 06 1234 5678', { env })).toBe('call <number> or <number>');
  });

  it.each(Object.entries(encodings))('hides a secret environment value %s-encoded', (_, form) => {
    const out = redact(`GET /act_1?access_token&token_was:${form}; next`, { env });
    expect(out).toContain('<META_ACCESS_TOKEN>');
    for (const leak of Object.values(encodings)) expect(out).not.toContain(leak);
    expect(out).not.toMatch(/abc|def/);
  });

  it('hides secrets handed over in code, names them, and ignores short values', () => {
    expect(
      redact('token s3cr3t-value-1 used', { env: {}, secrets: { META_ACCESS_TOKEN: 's3cr3t-value-1' } }),
    ).toBe('token <META_ACCESS_TOKEN> used');
    expect(redact('abc stays', { env })).toBe('abc stays');
    expect(
      redact('x EAAB|abc/+=def"x y\\z-and-more y', { env: { A_TOKEN: TOKEN, B_TOKEN: `${TOKEN}-and-more` } }),
    ).toBe('x <B_TOKEN> y');
  });
});

describe('run records store only redacted messages', () => {
  it('pipeline_runs.error and a failed step detail carry no email, phone or secret in any encoding', async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    const before = process.env.RETARGET_TEST_API_KEY;
    process.env.RETARGET_TEST_API_KEY = TOKEN;
    try {
      const message = `GET /x?access_token=${encodeURIComponent(TOKEN)} failed for jane@example.com, +44 7911 123456`;
      await startRun(wh, 'r1', new Date('2026-11-22T03:00:00Z'), 'test');
      const failed = await recordStep(wh, 'r1', 'sync:meta', async () => {
        throw new Error(message);
      }).catch((err: Error) => err);
      await finishRun(wh, 'r1', 'failed', `sync:meta: ${message}`);
      const stored = [
        (failed as Error).message,
        (await wh.one<{ t: string }>('SELECT error AS t FROM pipeline_runs'))!.t,
        (await wh.one<{ t: string }>('SELECT detail::VARCHAR AS t FROM pipeline_steps'))!.t,
      ];
      for (const text of stored) {
        expect(text).toContain('failed for <email>, <number>');
        expect(text).not.toContain(encodeURIComponent(TOKEN));
        expect(text).not.toMatch(/jane|7911/);
      }
    } finally {
      if (before === undefined) delete process.env.RETARGET_TEST_API_KEY;
      else process.env.RETARGET_TEST_API_KEY = before;
      wh.close();
    }
  });
});

describe('a succeeded step stores its detail redacted', () => {
  it("a segment's own failure quoted in the step detail carries no email or phone", async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    try {
      await startRun(wh, 'r1', new Date('2026-11-22T03:00:00Z'), 'test');
      const error =
        "cannot be evaluated: Conversion Error: Could not convert string 'jane@example.com' to INT32";
      await recordStep(wh, 'r1', 'segments:evaluate', async () => ({
        detail: [
          { segment: 'broken', members: 0, seconds: 1.2345678901, error: `${error} (+44 7911 123456)` },
        ],
      }));
      const detail = (await wh.one<{ t: string }>('SELECT detail::VARCHAR AS t FROM pipeline_steps'))!.t;
      expect(JSON.parse(detail)).toEqual([
        {
          segment: 'broken',
          members: 0,
          // A number stays a number, though its digits look like a phone's: the texts are redacted, not the JSON.
          seconds: 1.2345678901,
          error:
            "cannot be evaluated: Conversion Error: Could not convert string '<email>' to INT32 (<number>)",
        },
      ]);
    } finally {
      wh.close();
    }
  });
});

describe('the CLI prints errors redacted', () => {
  it('an error quoting a value shows no email or secret on stderr', async () => {
    const s = sandbox();
    try {
      (await Warehouse.open({ path: s.db })).close();
      const secret = 'sk_live_51HxYzSECRET';
      const r = await cli(
        ['--config', s.config, 'sql', `SELECT 'jane.doe@example.com'::INTEGER, '${secret}'::INTEGER`],
        { STRIPE_SECRET_KEY: secret },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Could not convert string '(<email>|<STRIPE_SECRET_KEY>)'/);
      expect(r.stderr).not.toMatch(/jane|sk_live/);
    } finally {
      s.cleanup();
    }
  });
});

describe('progress lines are printed redacted', () => {
  it('a source or destination message quoting an email or a secret reaches the terminal without it', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    process.env.RETARGET_TEST_SECRET_TOKEN = TOKEN;
    try {
      terminalReporter(stream).info(`rejected jane.doe@example.com with ${encodeURIComponent(TOKEN)}`);
    } finally {
      delete process.env.RETARGET_TEST_SECRET_TOKEN;
    }
    expect(lines.join('')).toMatch(/rejected <email> with </);
    expect(lines.join('')).not.toMatch(/jane|EAAB/);
  });
});
