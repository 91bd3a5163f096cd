import type { Destination } from '../../plans/types.ts';
import type { DestinationConnector, DestinationDefinition } from './contract.ts';
import { csvDefinition } from './csv/index.ts';
import { googleAdsDefinition } from './google-ads/index.ts';
import { metaDefinition } from './meta/definition.ts';
import { batchDestination } from './runner.ts';

/** Every destination retarget knows, one line each: the keys of `destinations` in retarget.config.ts. */
export const destinationRegistry: readonly DestinationDefinition<unknown>[] = [
  csvDefinition,
  metaDefinition,
  googleAdsDefinition,
];

/** A destination as the run syncs it: batch destinations through the shared runner, whole ones as they are. */
export function toDestination(connector: DestinationConnector): Destination {
  return connector.kind === 'batches' ? batchDestination(connector) : connector;
}

/**
 * The destinations a configuration enables, in registry order. `section` is the validated `destinations` of
 * retarget.config.ts (`false` turns one off); half a setting in the environment throws, naming it.
 */
export function enabledDestinations(
  section: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Destination[] {
  return destinationRegistry.flatMap((def) => {
    const settings = section[def.name];
    if (settings === false) return [];
    const connector = def.fromConfig(settings, env);
    return connector ? [toDestination(connector)] : [];
  });
}
