import type { SourceDefinition, SourceLoad } from './contract.ts';
import { ecwidSource } from './ecwid/source.ts';
import { filesSource } from './files/source.ts';
import { ga4Source } from './ga4/source.ts';
import { shopifySource } from './shopify/source.ts';

/** Every source retarget knows, one line each, in load order: the keys of `sources` in retarget.config.ts. */
export const sourceRegistry: readonly SourceDefinition<unknown>[] = [
  filesSource,
  ga4Source,
  shopifySource,
  ecwidSource,
];

export interface EnabledSource {
  name: string;
  loads: SourceLoad[];
}

/** The sources a configuration enables (`false` turns one off); half a setting throws, naming it. */
export function enabledSources(
  section: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): EnabledSource[] {
  return sourceRegistry.flatMap((def) => {
    const settings = section[def.name];
    if (settings === false) return [];
    const loads = def.fromConfig(settings, env);
    return loads.length > 0 ? [{ name: def.name, loads }] : [];
  });
}
