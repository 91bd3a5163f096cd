/**
 * Reference data for Meta normalisation, shipped as SQL VALUES lists so the join runs inside DuckDB:
 * country names / ISO codes -> ISO 3166-1 alpha-2, ISO alpha-2 -> international calling code, US state names -> codes.
 * Line format: ISO2|ISO3|calling code|name;alias;...
 */
const COUNTRIES = `
AD|AND|376|Andorra
AE|ARE|971|United Arab Emirates;UAE;Emirates
AF|AFG|93|Afghanistan
AG|ATG|1|Antigua and Barbuda;Antigua
AL|ALB|355|Albania
AM|ARM|374|Armenia
AO|AGO|244|Angola
AR|ARG|54|Argentina
AT|AUT|43|Austria;Österreich;Osterreich
AU|AUS|61|Australia
AW|ABW|297|Aruba
AZ|AZE|994|Azerbaijan
BA|BIH|387|Bosnia and Herzegovina;Bosnia
BB|BRB|1|Barbados
BD|BGD|880|Bangladesh
BE|BEL|32|Belgium;Belgique;België;Belgien
BF|BFA|226|Burkina Faso
BG|BGR|359|Bulgaria
BH|BHR|973|Bahrain
BI|BDI|257|Burundi
BJ|BEN|229|Benin
BM|BMU|1|Bermuda
BN|BRN|673|Brunei;Brunei Darussalam
BO|BOL|591|Bolivia
BR|BRA|55|Brazil;Brasil
BS|BHS|1|Bahamas;The Bahamas
BT|BTN|975|Bhutan
BW|BWA|267|Botswana
BY|BLR|375|Belarus
BZ|BLZ|501|Belize
CA|CAN|1|Canada
CD|COD|243|Democratic Republic of the Congo;DR Congo;Congo-Kinshasa
CF|CAF|236|Central African Republic
CG|COG|242|Republic of the Congo;Congo;Congo-Brazzaville
CH|CHE|41|Switzerland;Schweiz;Suisse;Svizzera
CI|CIV|225|Côte d'Ivoire;Ivory Coast
CL|CHL|56|Chile
CM|CMR|237|Cameroon
CN|CHN|86|China;People's Republic of China;PRC
CO|COL|57|Colombia
CR|CRI|506|Costa Rica
CU|CUB|53|Cuba
CV|CPV|238|Cape Verde;Cabo Verde
CW|CUW|599|Curaçao
CY|CYP|357|Cyprus
CZ|CZE|420|Czech Republic;Czechia;Česko
DE|DEU|49|Germany;Deutschland
DJ|DJI|253|Djibouti
DK|DNK|45|Denmark;Danmark
DM|DMA|1|Dominica
DO|DOM|1|Dominican Republic
DZ|DZA|213|Algeria
EC|ECU|593|Ecuador
EE|EST|372|Estonia
EG|EGY|20|Egypt
ER|ERI|291|Eritrea
ES|ESP|34|Spain;España
ET|ETH|251|Ethiopia
FI|FIN|358|Finland;Suomi
FJ|FJI|679|Fiji
FO|FRO|298|Faroe Islands
FR|FRA|33|France
GA|GAB|241|Gabon
GB|GBR|44|United Kingdom;UK;Great Britain;Britain;England;Scotland;Wales;Northern Ireland;United Kingdom of Great Britain and Northern Ireland
GD|GRD|1|Grenada
GE|GEO|995|Georgia
GH|GHA|233|Ghana
GI|GIB|350|Gibraltar
GL|GRL|299|Greenland
GM|GMB|220|Gambia;The Gambia
GN|GIN|224|Guinea
GP|GLP|590|Guadeloupe
GQ|GNQ|240|Equatorial Guinea
GR|GRC|30|Greece;Hellas
GT|GTM|502|Guatemala
GU|GUM|1|Guam
GW|GNB|245|Guinea-Bissau
GY|GUY|592|Guyana
HK|HKG|852|Hong Kong
HN|HND|504|Honduras
HR|HRV|385|Croatia;Hrvatska
HT|HTI|509|Haiti
HU|HUN|36|Hungary;Magyarország
ID|IDN|62|Indonesia
IE|IRL|353|Ireland;Éire;Republic of Ireland
IL|ISR|972|Israel
IN|IND|91|India
IQ|IRQ|964|Iraq
IR|IRN|98|Iran
IS|ISL|354|Iceland;Ísland
IT|ITA|39|Italy;Italia
JM|JAM|1|Jamaica
JO|JOR|962|Jordan
JP|JPN|81|Japan
KE|KEN|254|Kenya
KG|KGZ|996|Kyrgyzstan
KH|KHM|855|Cambodia
KN|KNA|1|Saint Kitts and Nevis
KR|KOR|82|South Korea;Korea;Republic of Korea
KW|KWT|965|Kuwait
KY|CYM|1|Cayman Islands
KZ|KAZ|7|Kazakhstan
LA|LAO|856|Laos
LB|LBN|961|Lebanon
LC|LCA|1|Saint Lucia
LI|LIE|423|Liechtenstein
LK|LKA|94|Sri Lanka
LR|LBR|231|Liberia
LS|LSO|266|Lesotho
LT|LTU|370|Lithuania
LU|LUX|352|Luxembourg
LV|LVA|371|Latvia
LY|LBY|218|Libya
MA|MAR|212|Morocco
MC|MCO|377|Monaco
MD|MDA|373|Moldova
ME|MNE|382|Montenegro
MG|MDG|261|Madagascar
MK|MKD|389|North Macedonia;Macedonia
ML|MLI|223|Mali
MM|MMR|95|Myanmar;Burma
MN|MNG|976|Mongolia
MO|MAC|853|Macau;Macao
MQ|MTQ|596|Martinique
MR|MRT|222|Mauritania
MT|MLT|356|Malta
MU|MUS|230|Mauritius
MV|MDV|960|Maldives
MW|MWI|265|Malawi
MX|MEX|52|Mexico;México
MY|MYS|60|Malaysia
MZ|MOZ|258|Mozambique
NA|NAM|264|Namibia
NC|NCL|687|New Caledonia
NE|NER|227|Niger
NG|NGA|234|Nigeria
NI|NIC|505|Nicaragua
NL|NLD|31|Netherlands;The Netherlands;Holland;Nederland
NO|NOR|47|Norway;Norge
NP|NPL|977|Nepal
NZ|NZL|64|New Zealand
OM|OMN|968|Oman
PA|PAN|507|Panama;Panamá
PE|PER|51|Peru;Perú
PF|PYF|689|French Polynesia
PG|PNG|675|Papua New Guinea
PH|PHL|63|Philippines
PK|PAK|92|Pakistan
PL|POL|48|Poland;Polska
PR|PRI|1|Puerto Rico
PS|PSE|970|Palestine
PT|PRT|351|Portugal
PY|PRY|595|Paraguay
QA|QAT|974|Qatar
RE|REU|262|Réunion;Reunion
RO|ROU|40|Romania;România
RS|SRB|381|Serbia
RU|RUS|7|Russia;Russian Federation
RW|RWA|250|Rwanda
SA|SAU|966|Saudi Arabia
SC|SYC|248|Seychelles
SD|SDN|249|Sudan
SE|SWE|46|Sweden;Sverige
SG|SGP|65|Singapore
SI|SVN|386|Slovenia
SK|SVK|421|Slovakia
SL|SLE|232|Sierra Leone
SM|SMR|378|San Marino
SN|SEN|221|Senegal
SO|SOM|252|Somalia
SR|SUR|597|Suriname
SV|SLV|503|El Salvador
SY|SYR|963|Syria
SZ|SWZ|268|Eswatini;Swaziland
TC|TCA|1|Turks and Caicos Islands
TD|TCD|235|Chad
TG|TGO|228|Togo
TH|THA|66|Thailand
TJ|TJK|992|Tajikistan
TM|TKM|993|Turkmenistan
TN|TUN|216|Tunisia
TR|TUR|90|Turkey;Türkiye;Turkiye
TT|TTO|1|Trinidad and Tobago
TW|TWN|886|Taiwan
TZ|TZA|255|Tanzania
UA|UKR|380|Ukraine
UG|UGA|256|Uganda
US|USA|1|United States;United States of America;U.S.;U.S.A.;America
UY|URY|598|Uruguay
UZ|UZB|998|Uzbekistan
VC|VCT|1|Saint Vincent and the Grenadines
VE|VEN|58|Venezuela
VG|VGB|1|British Virgin Islands
VI|VIR|1|U.S. Virgin Islands;US Virgin Islands
VN|VNM|84|Vietnam;Viet Nam
YE|YEM|967|Yemen
ZA|ZAF|27|South Africa
ZM|ZMB|260|Zambia
ZW|ZWE|263|Zimbabwe
`;

const US_STATES = `
AL Alabama;AK Alaska;AZ Arizona;AR Arkansas;CA California;CO Colorado;CT Connecticut;DE Delaware;
DC District of Columbia;FL Florida;GA Georgia;HI Hawaii;ID Idaho;IL Illinois;IN Indiana;IA Iowa;KS Kansas;
KY Kentucky;LA Louisiana;ME Maine;MD Maryland;MA Massachusetts;MI Michigan;MN Minnesota;MS Mississippi;
MO Missouri;MT Montana;NE Nebraska;NV Nevada;NH New Hampshire;NJ New Jersey;NM New Mexico;NY New York;
NC North Carolina;ND North Dakota;OH Ohio;OK Oklahoma;OR Oregon;PA Pennsylvania;RI Rhode Island;
SC South Carolina;SD South Dakota;TN Tennessee;TX Texas;UT Utah;VT Vermont;VA Virginia;WA Washington;
WV West Virginia;WI Wisconsin;WY Wyoming;PR Puerto Rico;GU Guam;VI Virgin Islands;AS American Samoa
`;

/** The key used to look names up: lowercase, accents stripped, letters only (mirrors the SQL side). */
export function lookupKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

/** The same key computed in DuckDB. */
export function lookupKeySql(expr: string): string {
  return `regexp_replace(lower(strip_accents(${expr})), '[^a-z]+', '', 'g')`;
}

interface Country {
  iso2: string;
  callingCode: string;
  aliases: string[];
}

function parseCountries(): Country[] {
  return COUNTRIES.trim()
    .split('\n')
    .map((line) => {
      const [iso2 = '', iso3 = '', code = '', names = ''] = line.split('|');
      return { iso2: iso2.toLowerCase(), callingCode: code, aliases: [iso2, iso3, ...names.split(';')] };
    });
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** SQL: VALUES (key, iso2) mapping every known spelling of a country to its alpha-2 code. */
export function countryAliasValuesSql(): string {
  const seen = new Map<string, string>();
  for (const c of parseCountries()) {
    for (const alias of c.aliases) {
      const key = lookupKey(alias);
      if (key && !seen.has(key)) seen.set(key, c.iso2);
    }
  }
  const rows = [...seen].map(([key, iso2]) => `(${quote(key)}, ${quote(iso2)})`);
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(alias_key, iso2)`;
}

/** SQL: VALUES (iso2, calling_code). */
export function callingCodeValuesSql(): string {
  const rows = parseCountries().map((c) => `(${quote(c.iso2)}, ${quote(c.callingCode)})`);
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(iso2, calling_code)`;
}

/** SQL: VALUES (key, code) mapping US state names and codes to the lowercase 2-letter code. */
export function usStateValuesSql(): string {
  const rows: string[] = [];
  for (const entry of US_STATES.split(';')) {
    const m = entry.trim().match(/^([A-Z]{2}) (.+)$/);
    if (!m) continue;
    const code = m[1]!.toLowerCase();
    rows.push(`(${quote(code)}, ${quote(code)})`, `(${quote(lookupKey(m[2]!))}, ${quote(code)})`);
  }
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(state_key, code)`;
}

/** Known calling codes (for tests and docs). */
export function callingCodeOf(iso2: string): string | undefined {
  return parseCountries().find((c) => c.iso2 === iso2.toLowerCase())?.callingCode;
}
