import { lookupKey } from './countries.ts';

/** US states, DC and territories: code and name (platforms want the 2-letter code for US addresses). */
const US_STATES = `
AL Alabama;AK Alaska;AZ Arizona;AR Arkansas;CA California;CO Colorado;CT Connecticut;DE Delaware;
DC District of Columbia;FL Florida;GA Georgia;HI Hawaii;ID Idaho;IL Illinois;IN Indiana;IA Iowa;KS Kansas;
KY Kentucky;LA Louisiana;ME Maine;MD Maryland;MA Massachusetts;MI Michigan;MN Minnesota;MS Mississippi;
MO Missouri;MT Montana;NE Nebraska;NV Nevada;NH New Hampshire;NJ New Jersey;NM New Mexico;NY New York;
NC North Carolina;ND North Dakota;OH Ohio;OK Oklahoma;OR Oregon;PA Pennsylvania;RI Rhode Island;
SC South Carolina;SD South Dakota;TN Tennessee;TX Texas;UT Utah;VT Vermont;VA Virginia;WA Washington;
WV West Virginia;WI Wisconsin;WY Wyoming;PR Puerto Rico;GU Guam;VI Virgin Islands;AS American Samoa
`;

/** (lookup key, lowercase code) for every US state code and name. */
export function usStateKeys(): Array<readonly [string, string]> {
  const rows: Array<readonly [string, string]> = [];
  for (const entry of US_STATES.split(';')) {
    const m = entry.trim().match(/^([A-Z]{2}) (.+)$/);
    if (!m) continue;
    const code = m[1]!.toLowerCase();
    rows.push([code, code], [lookupKey(m[2]!), code]);
  }
  return rows;
}
