import type { DestinationDefinition } from '../contract.ts';
import { META_DESTINATION, type MetaSettings, metaConfigFromEnv, metaSettingsSchema } from './config.ts';
import { metaConnector } from './connector.ts';

/** Meta Custom Audiences: enabled by META_ACCESS_TOKEN and META_AD_ACCOUNT_ID (docs/meta.md). */
export const metaDefinition: DestinationDefinition<MetaSettings> = {
  name: META_DESTINATION,
  settings: metaSettingsSchema,
  env: [
    'META_ACCESS_TOKEN',
    'META_AD_ACCOUNT_ID',
    'META_GRAPH_URL',
    'META_AUDIENCE_PREFIX',
    'META_MAX_SHRINK',
    'META_DEFAULT_COUNTRY',
  ],
  fromConfig(settings, env) {
    const config = metaConfigFromEnv(env, settings);
    return config ? metaConnector(config) : undefined;
  },
};
