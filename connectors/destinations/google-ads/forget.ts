/**
 * Forgets a Google Ads audience's state so the next run starts afresh (e.g. after its user list was deleted in
 * Google Ads). Usage: npx tsx connectors/destinations/google-ads/forget.ts <audience> [--db data/retarget.duckdb]
 */
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { forgetGoogleAdsAudience } from './index.ts';

const args = process.argv.slice(2);
const dbFlag = args.indexOf('--db');
const db = dbFlag >= 0 ? args[dbFlag + 1] : 'data/retarget.duckdb';
const audience = args.find((a, i) => !a.startsWith('--') && i !== dbFlag + 1);
if (!audience || !db) {
  console.error('usage: npx tsx connectors/destinations/google-ads/forget.ts <audience> [--db FILE]');
  process.exit(2);
}
const wh = await Warehouse.open({ path: db });
try {
  await forgetGoogleAdsAudience(wh, audience);
  console.log(
    `google-ads: forgot audience "${audience}"; the next run adopts the user list of its name if Google still ` +
      'holds it, else creates a new one, and sends every member again',
  );
} finally {
  wh.close();
}
