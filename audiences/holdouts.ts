import type { LoadedSegment } from '../dsl/index.ts';
import { sqlIdent } from '../warehouse/values.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { EVALUATED } from './evaluate.ts';

/**
 * Holdouts: a share of each audience's members is held out (stored, never sent), so lift can be measured. Which
 * side a member is on depends only on (salt of the file, audience, customer_id): never on the run, its as-of time
 * or the order members were evaluated in, so the same people stay held out night after night.
 */

/** Where an audience's share comes from, first match wins; every share is in [0, 0.5), 0 meaning no holdout. */
export interface HoldoutShares {
  /** Segments' own `.holdout(share)`, by segment name. */
  segments: Record<string, number>;
  /** Config `holdouts.audiences`: by audience name, or by a split segment's name for all its audiences. */
  audiences: Record<string, number>;
  /** Config `holdouts.default`. */
  default: number;
}

/** The config's `holdouts` section (config/config.ts). */
export interface HoldoutConfig {
  default: number;
  audiences: Record<string, number>;
}

/** The shares a run applies: each segment's own .holdout, then the config. */
export function holdoutShares(segments: LoadedSegment[], config?: HoldoutConfig): HoldoutShares {
  const own: Record<string, number> = {};
  for (const { definition } of segments)
    if (definition.holdout !== undefined) own[definition.name] = definition.holdout;
  return { segments: own, audiences: { ...config?.audiences }, default: config?.default ?? 0 };
}

/**
 * Config keys (holdouts.audiences) naming none of `segments` (an audience name is `segment` or `segment:value`):
 * their share applies to nobody, most likely a misspelt name, so the run warns instead of silently holding none.
 */
export function unknownHoldoutNames(config: HoldoutConfig | undefined, segments: string[]): string[] {
  const known = new Set(segments);
  return Object.keys(config?.audiences ?? {}).filter((key) => !known.has(key.split(':')[0]!));
}

/** Split points are in 1/10000ths of the audience: a share is honoured to 0.01 %. */
export const HOLDOUT_BUCKETS = 10_000;

/**
 * The member's bucket in [0, 10000): the first 32 bits of md5(salt, audience, customer_id), separated by a
 * character no name holds. md5, not DuckDB's hash(): its value is fixed forever, so a DuckDB upgrade never
 * reshuffles who is held out.
 */
export const holdoutBucketSql = (audience: string, customerId: string, salt: string) =>
  `(('0x' || left(md5(${salt} || chr(31) || ${audience} || chr(31) || ${customerId}), 8))::UBIGINT % ${HOLDOUT_BUCKETS})`;

/** Without exactly one salt the split would silently hold out nobody (none) or duplicate members (several). */
async function checkSalt(wh: Warehouse): Promise<void> {
  const salts = await wh.scalar('SELECT count(*) FROM holdout_salt');
  if (salts !== 1)
    throw new Error(
      `holdout_salt holds ${salts} rows instead of 1: restore it from a backup of this database ` +
        '(a new salt would move members between exposed and held out)',
    );
}

const isOn = (s: HoldoutShares | undefined): s is HoldoutShares =>
  !!s &&
  (s.default > 0 ||
    Object.values(s.segments).some((v) => v > 0) ||
    Object.values(s.audiences).some((v) => v > 0));

/**
 * Temp table membership_holdout (audience, customer_id): the evaluated members who are held out, set-based. A
 * member is held out when their bucket is below share × 10000, so raising the share only moves exposed members
 * to the holdout (and lowering it only moves them back).
 */
export async function markHoldouts(wh: Warehouse, shares: HoldoutShares | undefined): Promise<void> {
  const ev = sqlIdent(EVALUATED);
  await wh.run('CREATE OR REPLACE TEMP TABLE membership_holdout (audience VARCHAR, customer_id VARCHAR)');
  if (!isOn(shares)) return;
  await checkSalt(wh);
  await wh.run('CREATE OR REPLACE TEMP TABLE membership_shares (kind VARCHAR, name VARCHAR, share DOUBLE)');
  const rows = [
    ...Object.entries(shares.segments).map(([name, share]) => ['segment', name, share] as const),
    ...Object.entries(shares.audiences).map(([name, share]) => ['audience', name, share] as const),
  ];
  for (const r of rows) await wh.run('INSERT INTO membership_shares VALUES ($1, $2, $3)', [...r]);
  await wh.run(
    `INSERT INTO membership_holdout
     WITH audiences AS (
       SELECT a.audience, COALESCE(
         (SELECT share FROM membership_shares WHERE kind = 'segment' AND name = a.segment),
         (SELECT share FROM membership_shares WHERE kind = 'audience' AND name = a.audience),
         (SELECT share FROM membership_shares WHERE kind = 'audience' AND name = a.segment),
         $1) AS share
       FROM (SELECT DISTINCT audience, segment FROM ${ev}) a
     )
     SELECT e.audience, e.customer_id
     FROM ${ev} e JOIN audiences a ON a.audience = e.audience, holdout_salt s
     WHERE a.share > 0 AND ${holdoutBucketSql('e.audience', 'e.customer_id', 's.salt')} < round(a.share * ${HOLDOUT_BUCKETS})`,
    [shares.default],
  );
  await wh.run('DROP TABLE membership_shares');
}
