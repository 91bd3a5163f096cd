import type { DestinationReport, SyncContext } from '../../../plans/types.ts';
import { redact } from '../../../shared/redact.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { DestinationDefinition, WholeAudienceDestination } from '../contract.ts';
import { batchDestination } from '../runner.ts';
import {
  GOOGLE_ADS_DESTINATION,
  type GoogleAdsConfig,
  type GoogleAdsConfigInput,
  type GoogleAdsSettings,
  googleAdsConfigFromEnv,
  googleAdsSettingsSchema,
  resolveGoogleAdsConfig,
} from './config.ts';
import { createGoogleAdsConnector, googleAdsCapabilities, TERMS_MESSAGE } from './connector.ts';
import { checkRequestStatuses } from './requests.ts';

/**
 * The Google Ads destination (Customer Match through the Data Manager API) as the run syncs it: the shared batch
 * runner over the connector's operations, preceded by two things that are Google's own: nothing is sent before
 * the Customer Match terms are declared accepted, and the diagnostics of earlier requests are collected.
 */
export function createGoogleAdsDestination(
  input: GoogleAdsConfig | GoogleAdsConfigInput,
): WholeAudienceDestination {
  const config = resolveGoogleAdsConfig(input);
  return {
    kind: 'whole',
    name: GOOGLE_ADS_DESTINATION,
    capabilities: googleAdsCapabilities(config),
    async sync(ctx: SyncContext): Promise<DestinationReport> {
      // A dry run sends nothing, so it may plan before the terms are accepted. Otherwise the destination fails
      // as a whole (the run reports it and exits non-zero): configured but silently sending nothing is worse.
      if (!config.termsAccepted && !ctx.dryRun) throw new Error(TERMS_MESSAGE);
      const log = (m: string) => ctx.log(redact(m));
      const connector = createGoogleAdsConnector(config, log);
      try {
        if (!ctx.dryRun) await checkRequestStatuses(ctx.wh, connector.api, config.statusDelayMs, log);
        return await batchDestination(connector).sync(ctx);
      } finally {
        await connector.api.close();
      }
    },
  };
}

/**
 * Forgets an audience's Google Ads state (list id, confirmed members), e.g. after its user list was deleted in
 * Google Ads: the next run adopts a list of its display name if Google still holds one, else creates a new one,
 * and sends every member again. The request history (google_ads_requests) is kept for analysts.
 */
export async function forgetGoogleAdsAudience(wh: Warehouse, audience: string): Promise<void> {
  await wh.transaction(async () => {
    for (const table of ['destination_members', 'destination_audiences'])
      await wh.run(`DELETE FROM ${table} WHERE destination = $1 AND audience = $2`, [
        GOOGLE_ADS_DESTINATION,
        audience,
      ]);
  });
}

/** The definition listed in the destinations registry. */
export const googleAdsDefinition: DestinationDefinition<GoogleAdsSettings> = {
  name: GOOGLE_ADS_DESTINATION,
  settings: googleAdsSettingsSchema,
  env: [
    'GOOGLE_ADS_CUSTOMER_ID',
    'GOOGLE_ADS_LOGIN_CUSTOMER_ID',
    'GOOGLE_ADS_CUSTOMER_MATCH_TERMS',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'DATA_MANAGER_ENDPOINT',
    'DATA_MANAGER_INSECURE',
  ],
  fromConfig(settings, env) {
    const config = googleAdsConfigFromEnv(env, settings);
    return config ? createGoogleAdsDestination(config) : undefined;
  },
};
