/**
 * Forgets a Meta audience's state so the next run starts afresh (e.g. after it was deleted in Ads Manager): it
 * adopts the Custom Audience of its name if Meta still holds one, else creates a new one. Usage: npx tsx connectors/destinations/meta/forget.ts <audience> [--db data/retarget.duckdb]
 */
import { Warehouse } from '../../../warehouse/warehouse.ts';
import { forgetMetaAudience } from './destination.ts';

const args = process.argv.slice(2);
const dbFlag = args.indexOf('--db');
const db = dbFlag >= 0 ? args[dbFlag + 1] : 'data/retarget.duckdb';
const audience = args.find((a, i) => !a.startsWith('--') && i !== dbFlag + 1);
if (!audience || !db) {
  console.error('usage: npx tsx connectors/destinations/meta/forget.ts <audience> [--db FILE]');
  process.exit(2);
}
const wh = await Warehouse.open({ path: db });
try {
  await forgetMetaAudience(wh, audience);
  console.log(
    `meta: forgot audience "${audience}"; the next run adopts the Custom Audience of its name if Meta still ` +
      'holds it, else creates a new one',
  );
} finally {
  wh.close();
}
