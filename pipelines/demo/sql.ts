import { sqlString } from '../../warehouse/values.ts';
import {
  CATEGORIES,
  COMPLEMENTS,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  PLACES,
  PRODUCTS_PER_CATEGORY,
} from './reference.ts';

/**
 * The SQL that builds the demo store inside an in-memory DuckDB. All randomness comes from `u(key, i)`, an
 * md5 of (seed, key, i) mapped to [0, 1): stable across runs, platforms and DuckDB versions, unlike random().
 * Every statement is set-based; the result is a set of `out_<table>` tables in the files contract's columns.
 */

export interface DemoSqlParams {
  seed: number;
  customers: number;
  /** The anchor time T; every order and event is strictly before it. */
  asOf: Date;
  /** Browsing events cover (T - eventDays, T). */
  eventDays: number;
  /** Orders cover (T - orderDays, T). */
  orderDays: number;
}

type Cell = string | number | boolean | null;

function literal(value: Cell): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return sqlString(value);
  return String(value);
}

/** A small reference table from constants (never from data). */
function refTable(name: string, ddl: string, rows: Cell[][]): string[] {
  const values = rows.map((r) => `(${r.map(literal).join(', ')})`).join(',\n');
  return [`CREATE TABLE ${name} (${ddl})`, `INSERT INTO ${name} VALUES ${values}`];
}

function referenceTables(): string[] {
  const categories = CATEGORIES.map((c, i) => [i, c.name, c.weight, c.consumable]);
  const brands = CATEGORIES.flatMap((c) => c.brands.map((b, i) => [c.name, i, b]));
  const lines = CATEGORIES.flatMap((c) => c.lines.map(([line, price], i) => [c.name, i, line, price]));
  const compIndex = new Map<string, number>();
  const complements = COMPLEMENTS.map(([cat, comp, declared]) => {
    const idx = compIndex.get(cat) ?? 0;
    compIndex.set(cat, idx + 1);
    return [cat, comp, declared, idx];
  });
  const places = PLACES.map((p, i) => [
    i,
    p.city,
    p.state,
    p.country,
    p.countryName,
    p.postal,
    p.area,
    p.weight,
  ]);
  return [
    ...refTable(
      'ref_categories',
      'cat_idx INTEGER, category VARCHAR, weight DOUBLE, consumable BOOLEAN',
      categories,
    ),
    ...refTable('ref_brands', 'category VARCHAR, brand_idx INTEGER, brand VARCHAR', brands),
    ...refTable('ref_lines', 'category VARCHAR, line_idx INTEGER, line VARCHAR, price DOUBLE', lines),
    ...refTable(
      'ref_complements',
      'category VARCHAR, complement VARCHAR, declared BOOLEAN, comp_idx INTEGER',
      complements,
    ),
    ...refTable(
      'ref_first',
      'idx INTEGER, name VARCHAR',
      FIRST_NAMES.map((n, i) => [i, n]),
    ),
    ...refTable(
      'ref_last',
      'idx INTEGER, name VARCHAR',
      LAST_NAMES.map((n, i) => [i, n]),
    ),
    ...refTable(
      'ref_domains',
      'idx INTEGER, domain VARCHAR',
      EMAIL_DOMAINS.map((d, i) => [i, d]),
    ),
    ...refTable(
      'ref_places',
      'idx INTEGER, city VARCHAR, state VARCHAR, country VARCHAR, country_name VARCHAR, postal VARCHAR, area VARCHAR, weight DOUBLE',
      places,
    ),
  ];
}

/** Randomness, time helpers and the weighted pickers (cumulative distributions used with ASOF joins). */
function helpers(p: DemoSqlParams): string[] {
  const t = `TIMESTAMP '${p.asOf.toISOString().replace('T', ' ').replace('Z', '')}'`;
  return [
    // 53 random bits -> an exact double in [0, 1).
    `CREATE MACRO u(k, i) AS (md5_number_lower(concat('${p.seed}|', k, '|', i)) >> 11)::DOUBLE / 9007199254740992.0`,
    'CREATE MACRO pick(k, i, n) AS least(floor(u(k, i) * n), n - 1)::BIGINT',
    `CREATE MACRO before_t(s) AS ${t} - to_seconds(s::BIGINT)`,
    `CREATE MACRO iso(ts) AS strftime(ts, '%Y-%m-%dT%H:%M:%SZ')`,
    `CREATE TABLE cdf_category AS
     SELECT category, (sum(weight) OVER (ORDER BY cat_idx) - weight) / sum(weight) OVER () AS lo
     FROM ref_categories`,
    `CREATE TABLE cdf_place AS
     SELECT *, (sum(weight) OVER (ORDER BY idx) - weight) / sum(weight) OVER () AS lo FROM ref_places`,
  ];
}

/** 20 products per category (brand x line), with a popularity rank that skews orders and views. */
function products(): string[] {
  return [
    `CREATE TABLE prod AS
     WITH slots AS (
       SELECT c.cat_idx, c.category, c.weight AS cat_weight, c.consumable, j,
              printf('SKU-%d', 10000 + c.cat_idx * 100 + j) AS product_id
       FROM ref_categories c, range(${PRODUCTS_PER_CATEGORY}) r(j)
     ), priced AS (
       SELECT s.*, b.brand, l.line, l.price * (0.85 + 0.3 * u('price', s.product_id)) AS raw_price,
              row_number() OVER (PARTITION BY s.category ORDER BY u('pop', s.product_id)) AS pop_rank
       FROM slots s
       JOIN ref_brands b ON b.category = s.category AND b.brand_idx = s.j % 5
       JOIN ref_lines l ON l.category = s.category AND l.line_idx = s.j // 5
     )
     SELECT product_id, brand || ' ' || line AS name, category, brand, consumable, pop_rank, cat_weight,
            (CASE WHEN raw_price >= 100 THEN round(raw_price / 10) * 10 - 0.01
                  ELSE floor(raw_price) + 0.99 END)::DECIMAL(10, 2) AS price,
            1.0 / pow(pop_rank, 0.9) AS w
     FROM priced`,
    // Within-category and store-wide popularity distributions (category shares follow the weights).
    `CREATE TABLE cdf_cat_product AS
     SELECT product_id, category, pop_rank,
            (sum(w) OVER (PARTITION BY category ORDER BY pop_rank) - w) / sum(w) OVER (PARTITION BY category) AS lo
     FROM prod`,
    `CREATE TABLE cdf_product AS
     WITH g AS (SELECT *, cat_weight * w / sum(w) OVER (PARTITION BY category) AS gw FROM prod)
     SELECT product_id, category, (sum(gw) OVER (ORDER BY product_id) - gw) / sum(gw) OVER () AS lo FROM g`,
    `CREATE TABLE out_products AS
     SELECT product_id, name, category, brand, price, 'USD' AS currency FROM prod ORDER BY product_id`,
    // Declared complements: each camera/laptop names the same-rank product of each complement category.
    `CREATE TABLE out_product_complements AS
     SELECT a.product_id, b.product_id AS complement_id
     FROM ref_complements rc
     JOIN prod a ON a.category = rc.category
     JOIN prod b ON b.category = rc.complement AND b.pop_rank = a.pop_rank
     WHERE rc.declared
     ORDER BY 1, 2`,
  ];
}

/**
 * Personas drive order history: loyal repeat buyers, lapsed buyers (last order 200-725 days ago), one-time
 * recent buyers, occasional buyers and prospects who only browse. Each customer has an interest category.
 */
function customersAndOrders(p: DemoSqlParams): string[] {
  return [
    `CREATE TABLE cust AS
     SELECT x.i, printf('C%06d', 100001 + x.i) AS customer_id, c.category AS interest,
            CASE WHEN pu < 0.22 THEN 'loyal' WHEN pu < 0.50 THEN 'lapsed' WHEN pu < 0.58 THEN 'one_time'
                 WHEN pu < 0.75 THEN 'occasional' ELSE 'prospect' END AS persona
     FROM (SELECT i, u('persona', i) AS pu, u('interest', i) AS iu FROM range(${p.customers}) r(i)) x
     ASOF JOIN cdf_category c ON x.iu >= c.lo`,
    `CREATE TABLE order_plan AS
     WITH n AS (
       SELECT *, CASE persona WHEN 'loyal' THEN 3 + pick('norders', i, 6) WHEN 'lapsed' THEN 1 + pick('norders', i, 3)
                   WHEN 'one_time' THEN 1 WHEN 'occasional' THEN 1 + pick('norders', i, 3) ELSE 0 END AS n_orders
       FROM cust
     ), k AS (SELECT *, unnest(range(n_orders)) AS k FROM n WHERE n_orders > 0)
     SELECT i, customer_id, interest, persona, i || '/' || k AS ok,
            before_t(60 + floor(86400 * CASE persona
              WHEN 'lapsed' THEN 200 + u('days', i || '/' || k) * 525
              WHEN 'one_time' THEN 1 + u('days', i || '/' || k) * 84
              ELSE u('days', i || '/' || k) * ${p.orderDays - 1} END)) AS ordered_at
     FROM k`,
    `CREATE TABLE ord AS
     WITH o AS (
       SELECT op.*, u('status', ok) AS su, u('lines', ok) AS lu,
              CASE WHEN u('mainsrc', ok) < 0.55 THEN interest ELSE c.category END AS main_category,
              printf('ORD-%07d', 1000000 + row_number() OVER (ORDER BY ordered_at, ok)) AS order_id
       FROM (SELECT *, u('maincat', ok) AS cu FROM order_plan) op
       ASOF JOIN cdf_category c ON op.cu >= c.lo
     )
     -- About 1% of orders carry no status at all: the contract reads that as 'completed'.
     SELECT o.*,
            CASE WHEN su < 0.04 THEN 'cancelled' WHEN su < 0.07 THEN 'refunded' WHEN su < 0.08 THEN NULL
                 ELSE 'completed' END AS status,
            greatest(CASE WHEN lu < 0.45 THEN 1 WHEN lu < 0.70 THEN 2 WHEN lu < 0.85 THEN 3 WHEN lu < 0.95 THEN 4 ELSE 5 END,
                     CASE WHEN has_comp AND u('bump', ok) < 0.6 THEN 2 ELSE 1 END) AS n_lines,
            has_comp, n_comps
     FROM o
     LEFT JOIN (SELECT category, true AS has_comp, count(*) AS n_comps FROM ref_complements GROUP BY ALL) rc
       ON rc.category = o.main_category`,
    // Line 0 is the main product; later lines attach a complement (often the same-rank "partner") or a
    // popular product from anywhere, so complement pairs show up in baskets with high lift.
    `CREATE TABLE line_plan AS
     WITH main AS (
       SELECT o.order_id, o.ok, 0 AS line_no, p.product_id, p.pop_rank
       FROM (SELECT *, u('main', ok) AS mu FROM ord) o
       ASOF JOIN cdf_cat_product p ON p.category = o.main_category AND o.mu >= p.lo
     ), extra AS (
       SELECT o.order_id, o.ok, o.main_category, o.has_comp, o.n_comps, m.pop_rank AS main_rank, o.line_no,
              coalesce(o.has_comp, false)
                AND u('attach', o.ok || '/' || o.line_no) < CASE WHEN o.line_no = 1 THEN 0.8 ELSE 0.4 END AS attach,
              u('partner', o.ok || '/' || o.line_no) < 0.7 AS partner,
              u('pick', o.ok || '/' || o.line_no) AS pu
       FROM (SELECT *, unnest(range(1, n_lines)) AS line_no FROM ord) o
       JOIN main m USING (order_id)
     ), extra_cat AS (
       SELECT e.*, rc.complement
       FROM extra e
       LEFT JOIN ref_complements rc
         ON e.attach AND rc.category = e.main_category AND rc.comp_idx = pick('comp', e.ok || '/' || e.line_no, e.n_comps)
     )
     SELECT order_id, ok, line_no, product_id FROM main
     UNION ALL
     SELECT e.order_id, e.ok, e.line_no, p.product_id
     FROM extra_cat e JOIN prod p ON p.category = e.complement AND p.pop_rank = e.main_rank
     WHERE e.attach AND e.partner
     UNION ALL
     SELECT e.order_id, e.ok, e.line_no, p.product_id
     FROM (SELECT * FROM extra_cat WHERE attach AND NOT partner) e
     ASOF JOIN cdf_cat_product p ON p.category = e.complement AND e.pu >= p.lo
     UNION ALL
     SELECT e.order_id, e.ok, e.line_no, p.product_id
     FROM (SELECT * FROM extra_cat WHERE NOT attach) e
     ASOF JOIN cdf_product p ON e.pu >= p.lo`,
    `CREATE TABLE items AS
     SELECT l.order_id, l.line_no, l.product_id,
            CASE WHEN p.consumable AND u('qty', l.ok || '/' || l.line_no) < 0.3 THEN 2 + pick('qty2', l.ok || '/' || l.line_no, 2)
                 WHEN u('qty', l.ok || '/' || l.line_no) < 0.03 THEN 2 ELSE 1 END::INTEGER AS quantity,
            (CASE WHEN u('sale', l.ok) < 0.12 THEN round(p.price * 0.85, 2) ELSE p.price END)::DECIMAL(10, 2) AS unit_price
     FROM (SELECT * FROM line_plan QUALIFY row_number() OVER (PARTITION BY order_id, product_id ORDER BY line_no) = 1) l
     JOIN prod p USING (product_id)`,
    `CREATE TABLE out_order_items AS
     SELECT order_id, product_id, quantity, unit_price FROM items ORDER BY order_id, line_no`,
    `CREATE TABLE out_orders AS
     SELECT o.order_id, o.customer_id, iso(o.ordered_at) AS ordered_at, o.status,
            sum(i.quantity * i.unit_price)::DECIMAL(12, 2) AS total, 'USD' AS currency
     FROM ord o JOIN items i USING (order_id)
     GROUP BY ALL
     ORDER BY o.order_id`,
  ];
}

/** Contact fields in the messy shapes real exports have: mixed phone formats, ZIP+4, some country names. */
function customerRecords(p: DemoSqlParams): string[] {
  const nFirst = FIRST_NAMES.length;
  const nLast = LAST_NAMES.length;
  const nDomains = EMAIL_DOMAINS.length;
  return [
    `CREATE TABLE people AS
     WITH base AS (
       SELECT c.i, c.customer_id, c.persona, f.name AS first_name, l.name AS last_name,
              regexp_replace(lower(strip_accents(f.name)), '[^a-z0-9]', '', 'g') AS fl,
              regexp_replace(lower(strip_accents(l.name)), '[^a-z0-9]', '', 'g') AS ll,
              d.domain, u('emailshape', c.i) AS es
       FROM cust c
       JOIN ref_first f ON f.idx = pick('first', c.i, ${nFirst})
       JOIN ref_last l ON l.idx = pick('last', c.i, ${nLast})
       JOIN ref_domains d ON d.idx = pick('domain', c.i, ${nDomains})
     ), local AS (
       SELECT *, CASE WHEN es < 0.45 THEN fl || '.' || ll
                      WHEN es < 0.70 THEN fl || ll || lpad(pick('yy', i, 100)::VARCHAR, 2, '0')
                      WHEN es < 0.85 THEN left(fl, 1) || ll
                      ELSE ll || '.' || fl END AS lp
       FROM base
     )
     SELECT *, lp || CASE WHEN row_number() OVER (PARTITION BY lp, domain ORDER BY i) > 1
                          THEN row_number() OVER (PARTITION BY lp, domain ORDER BY i)::VARCHAR ELSE '' END
               || '@' || domain AS clean_email
     FROM local`,
    `CREATE TABLE out_customers AS
     WITH placed AS (
       SELECT pe.*, pl.city, pl.state, pl.country, pl.country_name, pl.postal, pl.area
       FROM (SELECT *, u('place', i) AS plu FROM people) pe
       ASOF JOIN cdf_place pl ON pe.plu >= pl.lo
     ), first_order AS (SELECT customer_id, min(ordered_at) AS first_at FROM ord GROUP BY ALL),
     shaped AS (
       SELECT x.*, f.first_at,
              lpad(pick('line', i, 100)::VARCHAR, 2, '0') AS xx,
              u('phoneshape', i) AS ps, u('emailcase', i) AS ec
       FROM placed x LEFT JOIN first_order f USING (customer_id)
     )
     SELECT customer_id,
            CASE WHEN u('noemail', i) < 0.04 THEN NULL
                 WHEN ec < 0.06 THEN upper(left(clean_email, 1)) || substr(clean_email, 2)
                 WHEN ec < 0.08 THEN upper(clean_email)
                 WHEN ec < 0.09 THEN clean_email || ' '
                 ELSE clean_email END AS email,
            CASE WHEN u('nophone', i) < 0.18 THEN NULL
                 WHEN country IN ('US', 'CA') THEN CASE
                   WHEN ps < 0.20 THEN '+1 (' || area || ') 555-01' || xx
                   WHEN ps < 0.40 THEN '(' || area || ') 555-01' || xx
                   WHEN ps < 0.60 THEN area || '-555-01' || xx
                   WHEN ps < 0.72 THEN area || '.555.01' || xx
                   WHEN ps < 0.86 THEN area || '55501' || xx
                   ELSE '+1' || area || '55501' || xx END
                 WHEN country = 'GB' THEN CASE WHEN ps < 0.5 THEN '+44 7700 900' || lpad(pick('gb', i, 1000)::VARCHAR, 3, '0')
                                              ELSE '07700 900' || lpad(pick('gb', i, 1000)::VARCHAR, 3, '0') END
                 WHEN country = 'DE' THEN CASE WHEN ps < 0.5 THEN '+49 ' || area || ' 555 01' || xx
                                              ELSE '0' || area || ' 55501' || xx END
                 ELSE CASE WHEN ps < 0.5 THEN '+33 ' || area || ' 99 00 ' || xx || ' ' || lpad(pick('fr', i, 100)::VARCHAR, 2, '0')
                           ELSE '0' || area || ' 99 00 ' || xx || ' ' || lpad(pick('fr', i, 100)::VARCHAR, 2, '0') END
            END AS phone,
            first_name, last_name, city, nullif(state, '') AS state,
            CASE country
              WHEN 'US' THEN lpad((postal::INTEGER + pick('zip', i, 40))::VARCHAR, 5, '0')
                             || CASE WHEN u('zip4', i) < 0.15 THEN '-' || lpad(pick('zip4d', i, 10000)::VARCHAR, 4, '0') ELSE '' END
              WHEN 'CA' THEN postal || ' ' || (1 + pick('pc1', i, 9)) || chr(65 + pick('pc2', i, 26)::INTEGER) || pick('pc3', i, 10)
              WHEN 'GB' THEN postal || ' ' || (1 + pick('pc1', i, 9)) || chr(65 + pick('pc2', i, 26)::INTEGER) || chr(65 + pick('pc3', i, 26)::INTEGER)
              ELSE lpad((postal::INTEGER + pick('zip', i, 20))::VARCHAR, 5, '0') END AS zip,
            CASE WHEN u('countryname', i) < 0.15 THEN country_name ELSE country END AS country,
            strftime(CASE WHEN first_at IS NULL THEN before_t(3600 + floor(86400 * u('created', i) * ${p.orderDays}))
                          ELSE first_at - to_seconds((600 + floor(86400 * u('created', i) * 400))::BIGINT) END,
                     '%Y-%m-%d %H:%M:%S') AS created_at,
            u('consent', i) < 0.85 AS ads_consent
     FROM shaped
     ORDER BY customer_id`,
  ];
}

/**
 * Browsing over the last weeks: sessions by known customers and anonymous visitors (view_item_list, 2-6
 * view_item in a focus category, then maybe add_to_wishlist or an abandoned add_to_cart / begin_checkout),
 * plus the sessions that led to each recent order, ending in purchase events.
 */
function events(p: DemoSqlParams): string[] {
  const windowSeconds = p.eventDays * 86400;
  const anonSessions = Math.round(p.customers * 1.2);
  const visitors = Math.max(1, Math.round(p.customers * 0.8));
  return [
    `CREATE MACRO ga_id(key) AS printf('%d.%d', 1000000000 + pick('ga', key, 1000000000), 1690000000 + pick('gat', key, 60000000))`,
    `CREATE TABLE sess AS
     WITH known AS (
       SELECT 'k' || i || '/' || s AS sk, customer_id, ga_id('k' || i) AS anonymous_id, interest, true AS is_known
       FROM (SELECT *, unnest(range(CASE persona
               WHEN 'loyal' THEN pick('nsess', i, 7)
               WHEN 'occasional' THEN pick('nsess', i, 4)
               WHEN 'one_time' THEN pick('nsess', i, 3)
               WHEN 'prospect' THEN CASE WHEN u('active', i) < 0.7 THEN pick('nsess', i, 5) ELSE 0 END
               ELSE CASE WHEN u('active', i) < 0.25 THEN 1 + pick('nsess', i, 2) ELSE 0 END END)) AS s
             FROM cust)
     ), anon AS (
       SELECT 'a' || s AS sk, NULL::VARCHAR AS customer_id, ga_id('a' || pick('visitor', s, ${visitors})) AS anonymous_id,
              NULL::VARCHAR AS interest, false AS is_known
       FROM range(${anonSessions}) r(s)
     ), s AS (
       SELECT *, u('focus', sk) AS fu, u('kind', sk) AS ku FROM (SELECT * FROM known UNION ALL SELECT * FROM anon)
     )
     SELECT s.sk, s.customer_id, s.anonymous_id, left(md5('${p.seed}|session|' || s.sk), 16) AS session_id,
            CASE WHEN s.interest IS NOT NULL AND s.fu < 0.7 THEN s.interest ELSE c.category END AS focus,
            CASE WHEN s.ku < CASE WHEN is_known THEN 0.66 ELSE 0.75 END THEN 'browse'
                 WHEN s.ku < CASE WHEN is_known THEN 0.8 ELSE 0.82 END THEN 'wishlist' ELSE 'cart' END AS kind,
            2 + pick('nviews', s.sk, 5) AS n_views,
            before_t(3600 + floor(u('start', s.sk) * ${windowSeconds - 3600})) AS started_at
     FROM (SELECT *, u('focuscat', sk) AS cu FROM s) s
     ASOF JOIN cdf_category c ON s.cu >= c.lo`,
    `CREATE TABLE ev AS
     WITH views AS (
       SELECT v.*, p.product_id
       FROM (SELECT s.*, s.started_at + to_seconds((seq * 45 + pick('gap', sk || '/' || seq, 90))::BIGINT) AS ts,
                    u('view', sk || '/' || seq) AS vu
             FROM (SELECT *, unnest(range(1, n_views + 1)) AS seq FROM sess) s) v
       ASOF JOIN cdf_cat_product p ON p.category = v.focus AND v.vu >= p.lo
     ), last_view AS (SELECT * FROM views WHERE seq = n_views),
     browse AS (
       SELECT sk, customer_id, anonymous_id, session_id, 0 AS seq, 'view_item_list' AS event_name,
              NULL::VARCHAR AS product_id, focus AS category, started_at AS ts
       FROM sess
       UNION ALL
       SELECT sk, customer_id, anonymous_id, session_id, seq, 'view_item', product_id, NULL, ts FROM views
       UNION ALL
       SELECT sk, customer_id, anonymous_id, session_id, seq + 1,
              CASE kind WHEN 'wishlist' THEN 'add_to_wishlist' ELSE 'add_to_cart' END, product_id, NULL,
              ts + INTERVAL 20 SECOND
       FROM last_view WHERE kind IN ('wishlist', 'cart')
       UNION ALL
       SELECT sk, customer_id, anonymous_id, session_id, seq + 2, 'begin_checkout', product_id, NULL, ts + INTERVAL 90 SECOND
       FROM last_view WHERE kind = 'cart' AND u('checkout', sk) < 0.35
     ), recent AS (
       SELECT o.*, left(md5('${p.seed}|session|o' || o.ok), 16) AS session_id, ga_id('k' || o.i) AS anonymous_id,
              o.ordered_at - to_seconds((600 + pick('lead', o.ok, 1800))::BIGINT) AS started_at
       FROM ord o
       WHERE o.ordered_at > before_t(${windowSeconds})
     ), order_lines AS (
       SELECT r.*, i.line_no, i.product_id FROM recent r JOIN items i USING (order_id)
     ), ordering AS (
       SELECT ok AS sk, customer_id, anonymous_id, session_id, 0 AS seq, 'view_item_list' AS event_name,
              NULL::VARCHAR AS product_id, main_category AS category, started_at AS ts
       FROM recent
       UNION ALL
       SELECT ok, customer_id, anonymous_id, session_id, 1 + 2 * line_no, 'view_item', product_id, NULL,
              started_at + to_seconds((60 + 120 * line_no)::BIGINT)
       FROM order_lines
       UNION ALL
       SELECT ok, customer_id, anonymous_id, session_id, 2 + 2 * line_no, 'add_to_cart', product_id, NULL,
              started_at + to_seconds((90 + 120 * line_no)::BIGINT)
       FROM order_lines
       UNION ALL
       SELECT ok, customer_id, anonymous_id, session_id, 50, 'begin_checkout', NULL, NULL, ordered_at - INTERVAL 3 MINUTE
       FROM recent
       UNION ALL
       SELECT ok, customer_id, anonymous_id, session_id, 51 + line_no, 'purchase', product_id, NULL, ordered_at
       FROM order_lines
       UNION ALL
       -- Some buyers wishlisted the main product days before: the wishlisted segment must drop them.
       SELECT 'w' || ok, customer_id, anonymous_id, left(md5('${p.seed}|session|w' || ok), 16), 0, 'add_to_wishlist',
              product_id, NULL, ordered_at - to_seconds((86400 + pick('wlead', ok, 6 * 86400))::BIGINT)
       FROM order_lines WHERE line_no = 0 AND u('wishfirst', ok) < 0.25
     ), all_events AS (SELECT * FROM browse UNION ALL SELECT * FROM ordering)
     -- Before the account existed the visitor was anonymous (same anonymous_id, no customer_id yet).
     SELECT session_id || '-' || lpad(seq::VARCHAR, 2, '0') AS event_id,
            CASE WHEN a.ts >= c.created THEN a.customer_id END AS customer_id, a.anonymous_id, a.session_id,
            a.event_name, a.product_id,
            CASE WHEN a.category IS NOT NULL THEN a.category
                 WHEN a.product_id IS NULL THEN ''
                 WHEN u('blankcat', session_id || '/' || seq) < 0.3 THEN ''
                 ELSE pr.category END AS category,
            a.ts
     FROM all_events a
     LEFT JOIN prod pr ON pr.product_id = a.product_id
     LEFT JOIN (SELECT customer_id, created_at::TIMESTAMP AS created FROM out_customers) c
       ON c.customer_id = a.customer_id
     WHERE a.ts > before_t(${windowSeconds}) AND a.ts < before_t(0)`,
    `CREATE TABLE out_events AS
     SELECT event_id, customer_id, anonymous_id, session_id, event_name, product_id, category,
            iso(ts) AS occurred_at, 1 AS event_count, 'web' AS source, strftime(ts, '%Y-%m-%d') AS day
     FROM ev`,
  ];
}

/**
 * A handful of deliberately bad rows (far below the 5% abort threshold) so a demo run shows the quarantine:
 * missing ids, unparseable timestamps, an event without a name.
 */
function malformedRows(): string[] {
  return [
    `INSERT INTO out_customers (customer_id, email, first_name, last_name, country, created_at, ads_consent)
     VALUES ('', 'no.id@example.com', 'Nameless', 'Row', 'US', '2025-06-01 10:00:00', true)`,
    `INSERT INTO out_orders
     SELECT '', customer_id, ordered_at, 'completed', total, currency FROM out_orders ORDER BY order_id LIMIT 1`,
    `INSERT INTO out_orders
     SELECT 'ORD-BAD-DATE', customer_id, 'last tuesday', 'completed', total, currency
     FROM out_orders WHERE order_id <> '' ORDER BY order_id DESC LIMIT 1`,
    `INSERT INTO out_order_items SELECT order_id, NULL, 1, 9.99 FROM out_orders WHERE order_id <> '' ORDER BY order_id LIMIT 1`,
    `INSERT INTO out_events
     SELECT 'bad-ts-1', customer_id, anonymous_id, session_id, 'view_item', product_id, category,
            'not-a-timestamp', 1, 'web', day
     FROM out_events WHERE event_name = 'view_item' ORDER BY event_id LIMIT 1`,
    `INSERT INTO out_events
     SELECT 'bad-ts-2', customer_id, anonymous_id, session_id, 'add_to_cart', product_id, category,
            '2026-10-32T25:61:00Z', 1, 'web', day
     FROM out_events WHERE event_name = 'add_to_cart' ORDER BY event_id DESC LIMIT 1`,
    `INSERT INTO out_events
     SELECT 'bad-name-1', customer_id, anonymous_id, session_id, '', product_id, category, occurred_at, 1, 'web', day
     FROM out_events WHERE event_name = 'view_item' ORDER BY event_id DESC LIMIT 1`,
  ];
}

/** Rows per table that malformedRows() adds. */
export const MALFORMED_ROWS: Record<string, number> = { customers: 1, orders: 2, order_items: 1, events: 3 };

export function demoStatements(p: DemoSqlParams): string[] {
  return [
    ...referenceTables(),
    ...helpers(p),
    ...products(),
    ...customersAndOrders(p),
    ...customerRecords(p),
    ...events(p),
    ...malformedRows(),
  ];
}
