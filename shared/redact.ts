/**
 * The one redaction function for every text retarget stores or prints (logs, run records, sync errors, alerts):
 * email addresses, phone-like numbers, credentials in URLs and the values of secret-looking environment
 * variables, in every encoding a secret travels in (raw, URL-encoded, form-encoded, JSON- and HTML-escaped).
 * Timestamps, counts, run ids, Meta ids and file paths stay readable.
 * Lives below every layer (it imports nothing) so warehouse, destination and pipeline code may all use it.
 */

/** Names of environment variables whose values are secrets. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|PRIVATE|WEBHOOK_URL|DSN/i;
/** Shorter values are too common to be worth hiding (and would blank out ordinary words). */
const MIN_SECRET_LENGTH = 8;

export interface RedactOptions {
  /** Environment whose secret-looking variables are hidden (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** More secrets, by the label that replaces them (e.g. a token handed over in code, not the environment). */
  secrets?: Record<string, string | undefined>;
}

export function redact(text: string, options: RedactOptions = {}): string {
  let out = text;
  for (const [label, value] of secretsOf(options)) out = out.replace(secretPattern(value), `<${label}>`);
  return (
    out
      .replace(/(:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1<redacted>@')
      .replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '<email>')
      .replace(/(access_token|token|secret|key|password)(=|%3D)([^&\s"']+)/gi, '$1$2<redacted>')
      // A credential, not a word ("OAuth access token" stays): 8+ characters with a digit or a symbol in them.
      .replace(/\b(Bearer|OAuth)\s+(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/g, '$1 <redacted>')
      .replace(/(?<!\w)\+?\d[\d ().-]{7,}\d(?!\w)/g, (m) => (isPhoneLike(m) ? '<number>' : m))
  );
}

/**
 * Phone-like: 10 to 15 digits (E.164's longest), standing alone (digits glued to letters are part of an id
 * such as act_1234567890 or a hash), not a date. Longer digit runs are ids (Meta audience and session ids),
 * shorter ones counts; timestamps are fine to show.
 */
function isPhoneLike(match: string): boolean {
  const digits = match.replace(/\D/g, '').length;
  return digits >= 10 && digits <= 15 && !/\d{4}-\d{2}-\d{2}/.test(match);
}

/** Every secret to hide, longest first so a secret containing another is hidden whole. */
function secretsOf({ env = process.env, secrets = {} }: RedactOptions): Array<[string, string]> {
  const found = new Map<string, string>();
  for (const [name, value] of Object.entries(secrets)) if (value) found.set(value, name);
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name) && !found.has(value)) {
      found.set(value, name);
    }
  }
  return [...found]
    .map(([value, name]): [string, string] => [name, value])
    .sort((a, b) => b[1].length - a[1].length);
}

const patterns = new Map<string, RegExp>();

/**
 * A pattern matching the secret however it was encoded, character by character: as is, percent-encoded once or
 * twice (any hex case), `+` for a space (form encoding), JSON escapes (`\/`, `\"`, `\uXXXX`) and HTML entities, and
 * the percent-encoded forms of those escapes. Case-insensitive: hiding a near-identical string costs nothing.
 */
function secretPattern(secret: string): RegExp {
  let pattern = patterns.get(secret);
  if (!pattern) {
    const chars = [...secret].map((ch) => `(?:${charForms(ch).map(escapeRegExp).join('|')})`);
    pattern = new RegExp(chars.join(''), 'gi');
    patterns.set(secret, pattern);
  }
  return pattern;
}

const HTML_ENTITIES: Record<string, string[]> = {
  '&': ['&amp;'],
  '"': ['&quot;'],
  "'": ['&#39;', '&#x27;'],
  '<': ['&lt;'],
  '>': ['&gt;'],
};

function charForms(ch: string): string[] {
  const code = ch.codePointAt(0) ?? 0;
  const escaped = [ch, JSON.stringify(ch).slice(1, -1), ...(HTML_ENTITIES[ch] ?? [])];
  if (code <= 0xffff) escaped.push(`\\u${code.toString(16).padStart(4, '0')}`);
  if (ch === '/') escaped.push('\\/');
  if (ch === ' ') escaped.push('+');
  const forms = new Set<string>();
  for (const form of escaped) {
    const once = percentEncodeAll(form);
    forms.add(form).add(once).add(once.replace(/%/g, '%25'));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Percent-encodes every byte, letters included (some encoders do; the pattern must match both ways). */
function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
