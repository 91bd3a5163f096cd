/**
 * Google's own layer over the shared identifiers (normalize.ts), from the Data Manager formatting guide: for
 * gmail.com and googlemail.com addresses every "." of the local part is removed and "+" with everything after it
 * is cut (cloudy.sanfrancisco+shopping@gmail.com -> cloudysanfrancisco@gmail.com), because Gmail delivers all those
 * spellings to one mailbox and Google matches the canonical one. Other domains keep their dots and plus signs.
 * Meta does not apply this rule.
 */

/** SQL: the Google form of an already trimmed, lowercased email expression (NULL stays NULL). */
export function googleEmailSql(email: string): string {
  return `CASE WHEN split_part(${email}, '@', 2) IN ('gmail.com', 'googlemail.com')
    THEN replace(split_part(split_part(${email}, '@', 1), '+', 1), '.', '') || '@' || split_part(${email}, '@', 2)
    ELSE ${email} END`;
}
