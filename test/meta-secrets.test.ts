import { afterEach, describe, expect, it } from 'vitest';
import { FakeMetaGraph } from './fakes/meta-graph.ts';
import { cli, type Sandbox, sandbox, withDb, writeStore } from './ops-helpers.ts';

/**
 * The access token never leaks, in any encoding: a Graph error that quotes the request URL carries the token
 * URL-encoded (`access_token=EAAB%7Cabc...`), which a plain search for the token does not find.
 */

const TOKEN = 'EAAB|abc/+=def&123';
const ACCOUNT = '1234567890';
const FORMS = [
  TOKEN,
  encodeURIComponent(TOKEN),
  new URLSearchParams({ t: TOKEN }).toString().slice(2),
  JSON.stringify(TOKEN).slice(1, -1).replace(/\//g, '\\/'),
  'abc/+=def',
  'abc%2F%2B%3Ddef',
];

let s: Sandbox | undefined;
let fake: FakeMetaGraph | undefined;
afterEach(async () => {
  await fake?.stop();
  s?.cleanup();
});

describe('the Meta access token in error messages', () => {
  it('is redacted in stdout, stderr, pipeline_runs, pipeline_steps and destination_syncs, however encoded', async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 5 });
    fake = new FakeMetaGraph({ token: TOKEN, accountId: ACCOUNT });
    const url = await fake.start();
    fake.inject({
      kind: 'error',
      on: 'create',
      code: 100,
      message: '(#100) Invalid parameter',
      echoUrl: true,
    });

    const r = await cli(['--config', s.config, 'run'], {
      META_ACCESS_TOKEN: TOKEN,
      META_AD_ACCOUNT_ID: ACCOUNT,
      META_GRAPH_URL: url,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(fake.faultsServed).toEqual([{ kind: 'error', on: 'create' }]);

    const stored = await withDb(s.db, async (wh) => {
      const rows = await wh.all<{ text: string | null }>(
        `SELECT error AS text FROM pipeline_runs UNION ALL SELECT detail::VARCHAR FROM pipeline_steps
         UNION ALL SELECT error FROM destination_syncs`,
      );
      return rows.map((row) => row.text ?? '').join('\n');
    });
    const syncError = /Invalid parameter: \S*customaudiences\?access_token=<(redacted|META_ACCESS_TOKEN)>/;
    for (const [where, text] of Object.entries({ stdout: r.stdout, stderr: r.stderr, stored })) {
      expect(text, where).toMatch(syncError); // the message got there, minus the token
      for (const form of FORMS) expect(text, `${where}: ${form}`).not.toContain(form);
    }
  });
});
