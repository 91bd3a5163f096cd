import { createHash } from 'node:crypto';

/** Longest readable part of a file name: far below the 255-byte limit of file systems, whatever the audience. */
const MAX_SLUG = 80;

/** Names already safe as file names: lower-case ASCII letters, digits and underscores (no '-', see below). */
const BARE = new RegExp(`^[a-z0-9_]{1,${MAX_SLUG}}$`);

/** Device names Windows reserves whatever the extension ('con.csv' cannot be created there). */
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/;

/**
 * The file an audience is written to: unique per audience (also on case-insensitive file systems), bounded,
 * readable where possible and the same every night.
 *
 * A name made only of lower-case letters, digits and underscores is its own file name ('wishlisted.csv').
 * Any other name gets a readable ASCII slug, cut to 80 characters, plus a short hash of the exact name
 * ('category_browsers:Tents' -> 'category_browsers--tents-<hash>.csv'), because slugs lose information
 * (case, punctuation, accents, non-Latin scripts, length) and two audiences must never share a file. Bare names
 * contain no '-' and hashed names always do, so the two kinds never meet; every name is lower case.
 */
export function audienceFileName(audience: string): string {
  if (BARE.test(audience) && !RESERVED.test(audience)) return `${audience}.csv`;
  return `${slug(audience)}-${nameHash(audience)}.csv`;
}

function slug(audience: string): string {
  const readable = audience
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/:/g, '--')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-+$/, '');
  return readable || 'audience';
}

/** 40 bits of SHA-256: a collision between two audiences of one store is not a practical concern. */
function nameHash(audience: string): string {
  return createHash('sha256').update(audience, 'utf8').digest('hex').slice(0, 10);
}
