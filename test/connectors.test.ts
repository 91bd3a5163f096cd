import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.ts';
import { destinationRegistry, enabledDestinations } from '../connectors/destinations/registry.ts';
import { advanceCursor, readCursor } from '../connectors/sources/cursors.ts';
import { markPulled, pulledThrough } from '../connectors/sources/ga4/state.ts';
import { enabledSources, sourceRegistry } from '../connectors/sources/registry.ts';
import { Warehouse } from '../warehouse/warehouse.ts';

/** The registries and the strict config sections built from them (the two registry.ts files, config/config.ts). */

const error = (input: unknown) => {
  try {
    parseConfig(input, 'retarget.config.ts');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
};

describe('connector registries', () => {
  it('an unknown destination or source key is an error naming it and the registered ones', () => {
    const names = destinationRegistry.map((d) => d.name).join(', ');
    expect(error({ destinations: { googel_ads: {} } })).toContain(
      `destinations.googel_ads: unknown key (allowed here: ${names})`,
    );
    expect(error({ sources: { ga5: {} } })).toContain(
      `sources.ga5: unknown key (allowed here: ${sourceRegistry.map((s) => s.name).join(', ')})`,
    );
  });

  it("a connector's own settings are checked by its schema, naming the key", () => {
    expect(error({ destinations: { meta: { batchsize: 10 } } })).toContain(
      'destinations.meta.batchsize: unknown key',
    );
    expect(error({ destinations: { meta: { maxShrink: 2 } } })).toMatch(/destinations\.meta\.maxShrink: /);
    expect(error({ destinations: { meta: { accessToken: 'EAAsecret' } } })).toContain(
      'destinations.meta.accessToken: put the access token in META_ACCESS_TOKEN, not the file',
    );
    expect(error({ destinations: { meta: { accessToken: 'EAAsecret' } } })).not.toContain('EAAsecret');
  });

  it('csv and files are on by default, false turns them off, and Meta is enabled by its environment', () => {
    const defaults = parseConfig({}, '(defaults)');
    expect(enabledDestinations(defaults.destinations, {}).map((d) => d.name)).toEqual(['csv']);
    expect(enabledSources(defaults.sources, {}).map((s) => s.name)).toEqual(['files']);
    const off = parseConfig({ destinations: { csv: false }, sources: { files: false } }, 'test');
    expect(enabledDestinations(off.destinations, {})).toEqual([]);
    expect(enabledSources(off.sources, {})).toEqual([]);
    const env = { META_ACCESS_TOKEN: 'EAAtoken', META_AD_ACCOUNT_ID: '123' };
    expect(enabledDestinations(defaults.destinations, env).map((d) => d.name)).toEqual(['csv', 'meta']);
    // Half a setting is an error, never a silently skipped destination.
    expect(() => enabledDestinations(defaults.destinations, { META_AD_ACCOUNT_ID: '123' })).toThrow(
      /META_ACCESS_TOKEN is not/,
    );
  });

  it('GA4 is one source name whose two paths are two recorded steps', () => {
    const config = parseConfig({ sources: { ga4: { export: { paths: 'exports/*.jsonl' } } } }, 'test');
    const ga4 = enabledSources(config.sources, { GA4_PROPERTY_ID: '123456' }).find((s) => s.name === 'ga4');
    expect(ga4?.loads.map((l) => l.step)).toEqual(['ga4', 'ga4_export']);
  });

  it('keeps every source cursor in one table, never moving backwards; GA4 progress is read there too', async () => {
    const wh = await Warehouse.open({ path: ':memory:' });
    try {
      await advanceCursor(wh, 'shop_api', 'orders', '2026-01-05', 'r1');
      await advanceCursor(wh, 'shop_api', 'orders', '2026-01-03', 'r2'); // an older chunk re-read
      expect(await readCursor(wh, 'shop_api', 'orders')).toBe('2026-01-05');
      await markPulled(wh, '123456', 'ecommerce/items', '2026-02-01', 'r3');
      expect(await pulledThrough(wh, '123456', 'ecommerce/items')).toBe('2026-02-01');
      expect(
        await wh.all('SELECT property_id, report, CAST(pulled_through AS VARCHAR) AS d FROM ga4_sync_state'),
      ).toEqual([{ property_id: '123456', report: 'ecommerce/items', d: '2026-02-01' }]);
    } finally {
      wh.close();
    }
  });
});
