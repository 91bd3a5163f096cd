import type { Destination } from '../../../plans/types.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { batchDestination } from '../runner.ts';
import type { Describe } from './audience.ts';
import {
  META_DESTINATION,
  type MetaConfig,
  type MetaConfigInput,
  metaConfigFromEnv,
  resolveMetaConfig,
} from './config.ts';
import { metaConnector } from './connector.ts';

export interface MetaDestinationOptions {
  /** Description of the Custom Audience created for an audience (default names the segment). */
  describe?: Describe;
}

/**
 * The Meta Custom Audiences destination: one customer-list Custom Audience per audience, kept in sync by the shared
 * runner with the minimal diff against what Meta last acknowledged, committed batch by batch.
 */
export function createMetaDestination(
  configInput: MetaConfig | MetaConfigInput,
  options: MetaDestinationOptions = {},
): Destination {
  return batchDestination(metaConnector(resolveMetaConfig(configInput), options.describe));
}

/**
 * Forgets an audience's Meta state (id, confirmed members, batches), e.g. after it was deleted in Ads Manager: the
 * next run adopts the Custom Audience of its name if Meta still holds it, else creates a new one.
 */
export async function forgetMetaAudience(wh: Warehouse, audience: string): Promise<void> {
  await wh.transaction(async () => {
    await wh.run('DELETE FROM destination_members WHERE destination = $1 AND audience = $2', [
      META_DESTINATION,
      audience,
    ]);
    await wh.run('DELETE FROM destination_audiences WHERE destination = $1 AND audience = $2', [
      META_DESTINATION,
      audience,
    ]);
    await wh.run('DELETE FROM meta_sync_batches WHERE audience = $1', [audience]);
  });
}

/**
 * The Meta destination as configured by the environment (and retarget.config.ts `destinations.meta`), or
 * undefined when META_ACCESS_TOKEN / META_AD_ACCOUNT_ID are not set.
 */
export function metaDestinationFromConfig(
  settings?: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  options: MetaDestinationOptions = {},
): Destination | undefined {
  const config = metaConfigFromEnv(env, settings);
  return config ? createMetaDestination(config, options) : undefined;
}
