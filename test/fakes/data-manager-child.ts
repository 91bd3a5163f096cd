/**
 * Runs one Google Ads sync in a separate process, so tests can kill it mid-sync (SIGKILL) like a real crash.
 * Usage: node --import tsx data-manager-child.ts <db file> <json: {config, runId}>
 */
import { createGoogleAdsDestination } from '../../connectors/destinations/google-ads/index.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';

const [dbPath, json] = process.argv.slice(2);
const { config, runId } = JSON.parse(json ?? '{}');
const wh = await Warehouse.open({ path: dbPath! });
const report = await createGoogleAdsDestination(config).sync({
  wh,
  runId,
  asOf: new Date(),
  dryRun: false,
  force: false,
  fullRefresh: false,
  log: (m) => process.stderr.write(`${m}\n`),
});
wh.close();
process.stdout.write(JSON.stringify(report));
