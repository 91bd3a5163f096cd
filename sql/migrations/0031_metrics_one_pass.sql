-- The order figures of 0021 (customers_start, customers_end, new_customers, crr_pct, orders, revenue, aov,
-- purchase_frequency, customer_value, clv, observed_lifespan_years) computed in one pass over the orders instead of
-- one range join per figure: the same definitions (docs/metrics.md), the same rounding, the same columns.
-- Measured in bench/README.md (stages `metrics` and `metrics:month`); the event figures get the same treatment below.

-- Every period bound is a midnight (whole calendar periods, windows of whole days), so an order counts in a window
-- (a, b] exactly when its day key, the date of the day (D, D + 1 day] holding it, is in [a, b). Grouping the orders
-- by day key (and by the day key of the customer's next order) leaves a fraction of the orders for the per-period
-- sums to read: about 400,000 rows for 2M orders over two years.
-- (The instant 1 µs before t, by integer arithmetic: cheaper than subtracting an interval, on millions of rows.)
CREATE OR REPLACE MACRO metrics_instant_before(t) AS make_timestamp(epoch_us(t) - 1);
CREATE OR REPLACE MACRO metrics_day_key(t) AS metrics_instant_before(t)::DATE;

-- Per day key: the orders of known customers up to T, split by whether each was its customer's first and by the
-- day key of the customer's next order (infinity: none by T). A customer ordered in (a, b] exactly when one of its
-- orders there has no next order before b, so distinct customers become sums: no count(DISTINCT) per period.
-- us: the order times in microseconds (exact integer sums, for the observed lifespan).
CREATE OR REPLACE MACRO metrics_order_days_at(at_time) AS TABLE
WITH ranked AS (
  SELECT ordered_at, lag(ordered_at) OVER w IS NULL AS is_first, lead(ordered_at) OVER w AS next_at
  FROM customer_orders WHERE ordered_at <= at_time::TIMESTAMP
  WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at)
)
SELECT metrics_day_key(ordered_at) AS day, coalesce(metrics_day_key(next_at), 'infinity'::DATE) AS next_day,
       is_first, count(*) AS orders, sum(epoch_us(ordered_at)) AS us
FROM ranked GROUP BY ALL;

-- Revenue (line price × quantity) of the completed orders of known customers up to T, per day key. The key is
-- computed per order, before the join, so the lines only carry it.
CREATE OR REPLACE MACRO metrics_revenue_days_at(at_time) AS TABLE
SELECT o.day, sum(i.unit_price * i.quantity) AS revenue
FROM (SELECT order_id, metrics_day_key(ordered_at) AS day FROM customer_orders
      WHERE ordered_at <= at_time::TIMESTAMP) o
JOIN order_items i ON i.order_id = o.order_id
GROUP BY o.day;

-- Per period (S, E]: the counts and sums every order figure divides. Day-key bounds: s, e (the period), s_active
-- and e_active (S and E minus the active window), e_year (E minus 365 days).
CREATE OR REPLACE MACRO metrics_order_sums_at(at_time, period_unit, period_count, window_days) AS TABLE
WITH p AS (
  SELECT period_start, period_end, period_start::DATE AS s, period_end::DATE AS e,
         (period_start - to_days(window_days::INTEGER))::DATE AS s_active,
         (period_end - to_days(window_days::INTEGER))::DATE AS e_active,
         (period_end - INTERVAL 365 DAY)::DATE AS e_year
  FROM metric_periods(at_time, period_unit, period_count)
),
counts AS (
  SELECT p.period_end,
    coalesce(sum(d.orders) FILTER (d.day >= p.s_active AND d.day < p.s AND d.next_day >= p.s), 0) AS b,
    coalesce(sum(d.orders) FILTER (d.day >= p.e_active AND d.day < p.e AND d.next_day >= p.e), 0) AS e,
    coalesce(sum(d.orders) FILTER (d.is_first AND d.day >= p.s AND d.day < p.e), 0) AS n,
    coalesce(sum(d.orders) FILTER (d.day >= p.s AND d.day < p.e), 0) AS orders,
    sum(d.orders) FILTER (d.day >= p.s AND d.day < p.e AND d.next_day >= p.e) AS customers,
    sum(d.orders) FILTER (d.day >= p.e_year AND d.day < p.e AND d.next_day >= p.e) AS year_customers,
    -- Each customer's last order by E minus its first, summed, over the customers who ordered by E.
    (sum(d.us) FILTER (d.day < p.e AND d.next_day >= p.e) - sum(d.us) FILTER (d.is_first AND d.day < p.e))
      / sum(d.orders) FILTER (d.is_first AND d.day < p.e) / (365 * 86400e6) AS observed_years
  FROM p LEFT JOIN metrics_order_days_at(at_time) d ON d.day < p.e
  GROUP BY p.period_end
),
revenues AS (
  SELECT p.period_end,
    coalesce(sum(r.revenue) FILTER (r.day >= p.s AND r.day < p.e), 0) AS revenue,
    coalesce(sum(r.revenue) FILTER (r.day >= p.e_year), 0) AS year_revenue
  FROM p LEFT JOIN metrics_revenue_days_at(at_time) r ON r.day < p.e
  GROUP BY p.period_end
)
-- Counts as BIGINT, as count() gives them (a sum of counts is a HUGEINT).
SELECT p.period_start, p.period_end, c.b::BIGINT AS b, c.e::BIGINT AS e, c.n::BIGINT AS n,
       c.orders::BIGINT AS orders, c.customers::BIGINT AS customers, c.year_customers::BIGINT AS year_customers,
       c.observed_years, r.revenue, r.year_revenue
FROM p JOIN counts c USING (period_end) JOIN revenues r USING (period_end);

-- Every order figure per period, as 0021 rounds them; the per-concern macros below read their columns from it.
CREATE OR REPLACE MACRO metrics_order_figures_at(at_time, period_unit, period_count, window_days, lifespan_years)
AS TABLE
SELECT period_start, period_end, b AS customers_start, e AS customers_end, n AS new_customers,
       CASE WHEN b > 0 THEN round((e - n) * 100.0 / b, 2) END AS crr_pct,
       orders, round(revenue, 2) AS revenue,
       round(revenue / nullif(orders, 0), 2)::DOUBLE AS aov,
       round(orders / nullif(customers, 0), 2)::DOUBLE AS purchase_frequency,
       round(revenue / nullif(customers, 0), 2)::DOUBLE AS customer_value,
       round(year_revenue / nullif(year_customers, 0) * lifespan_years, 2)::DOUBLE AS clv,
       round(observed_years, 2)::DOUBLE AS observed_lifespan_years
FROM metrics_order_sums_at(at_time, period_unit, period_count, window_days);

CREATE OR REPLACE MACRO metrics_retention_at(at_time, period_unit, period_count, window_days) AS TABLE
SELECT period_start, period_end, customers_start, customers_end, new_customers, crr_pct
FROM metrics_order_figures_at(at_time, period_unit, period_count, window_days, 2);

CREATE OR REPLACE MACRO metrics_orders_at(at_time, period_unit, period_count) AS TABLE
SELECT period_start, period_end, orders, revenue, aov, purchase_frequency, customer_value
FROM metrics_order_figures_at(at_time, period_unit, period_count, 365, 2);

CREATE OR REPLACE MACRO metrics_clv_at(at_time, period_unit, period_count, lifespan_years) AS TABLE
SELECT period_start, period_end, clv, observed_lifespan_years
FROM metrics_order_figures_at(at_time, period_unit, period_count, 365, lifespan_years);

-- The event figures: each event counts in the one period (S, E] holding it, whose S is the date_trunc of the
-- instant just before it, so events meet the periods in a hash join on S (not a range join per period), and
-- events outside all periods are skipped by a plain range filter on the scan (constant bounds).
CREATE OR REPLACE MACRO metrics_period_of(period_unit, t) AS date_trunc(period_unit, metrics_instant_before(t));
CREATE OR REPLACE MACRO metrics_periods_from(at_time, period_unit, period_count) AS
date_trunc(period_unit, at_time::TIMESTAMP) - period_count * CASE period_unit
  WHEN 'month' THEN INTERVAL 1 MONTH WHEN 'quarter' THEN INTERVAL 3 MONTH ELSE INTERVAL 1 YEAR END;
CREATE OR REPLACE MACRO metrics_periods_to(at_time, period_unit) AS date_trunc(period_unit, at_time::TIMESTAMP);

-- Carts are distinct (identity, day) with an add_to_cart in (S, E]; a cart is abandoned when its identity made no
-- purchase from its first add_to_cart that day to 7 days later (never after T). Bought carts are found by one semi
-- join on the identity (purchases before the first period cannot follow a cart), abandoned = carts - bought.
CREATE OR REPLACE MACRO metrics_cart_abandonment_at(at_time, period_unit, period_count) AS TABLE
WITH carts AS (
  SELECT metrics_period_of(period_unit, occurred_at) AS period_start,
         coalesce(customer_id, 'anonymous:' || anonymous_id) AS identity, occurred_at::DATE AS day,
         min(occurred_at) AS added_at
  FROM events
  WHERE event_name = 'add_to_cart' AND coalesce(customer_id, anonymous_id) IS NOT NULL
    AND occurred_at > metrics_periods_from(at_time, period_unit, period_count)
    AND occurred_at <= metrics_periods_to(at_time, period_unit)
  GROUP BY ALL
),
purchases AS (
  SELECT identity, purchased_at FROM metrics_identity_purchases
  WHERE purchased_at > metrics_periods_from(at_time, period_unit, period_count)
    AND purchased_at <= at_time::TIMESTAMP
),
bought AS (
  SELECT c.period_start, count(*) AS bought
  FROM carts c SEMI JOIN purchases b ON b.identity = c.identity
    AND b.purchased_at >= c.added_at AND b.purchased_at <= c.added_at + INTERVAL 7 DAY
  GROUP BY c.period_start
),
counts AS (
  SELECT c.period_start, count(*) AS carts, count(*) - coalesce(any_value(b.bought), 0) AS abandoned
  FROM carts c LEFT JOIN bought b USING (period_start)
  GROUP BY c.period_start
)
SELECT p.period_start, p.period_end, coalesce(c.carts, 0) AS carts, coalesce(c.abandoned, 0) AS abandoned,
       round(c.abandoned * 100.0 / nullif(c.carts, 0), 2)::DOUBLE AS cart_abandonment_pct
FROM metric_periods(at_time, period_unit, period_count) p
LEFT JOIN counts c ON c.period_start = p.period_start;

-- Identities with any event in (S, E] that purchased in (S, E] (a completed order or a purchase event), over
-- identities with any event: one grouping of events and purchases per (period, identity).
CREATE OR REPLACE MACRO metrics_conversion_at(at_time, period_unit, period_count) AS TABLE
WITH acts AS (
  SELECT coalesce(customer_id, 'anonymous:' || anonymous_id) AS identity, occurred_at AS acted_at, true AS visited,
         event_name = 'purchase' AS bought
  FROM events WHERE coalesce(customer_id, anonymous_id) IS NOT NULL
  UNION ALL
  SELECT customer_id, ordered_at, false, true FROM customer_orders
),
identities AS (
  SELECT metrics_period_of(period_unit, acted_at) AS period_start, identity,
         bool_or(visited) AS visited, bool_or(bought) AS bought
  FROM acts
  WHERE acted_at > metrics_periods_from(at_time, period_unit, period_count)
    AND acted_at <= metrics_periods_to(at_time, period_unit)
  GROUP BY ALL
)
SELECT p.period_start, p.period_end, count(i.identity) FILTER (i.visited) AS visitors,
       count(i.identity) FILTER (i.visited AND i.bought) AS converted,
       round(count(i.identity) FILTER (i.visited AND i.bought) * 100.0
             / nullif(count(i.identity) FILTER (i.visited), 0), 2)::DOUBLE AS conversion_pct
FROM metric_periods(at_time, period_unit, period_count) p
LEFT JOIN identities i ON i.period_start = p.period_start
GROUP BY p.period_start, p.period_end;

-- Every figure per period, in the order of `retarget metrics --json`: the order figures computed once.
CREATE OR REPLACE MACRO metrics_by_period_at(at_time, period_unit, period_count, window_days, lifespan_years)
AS TABLE
SELECT o.period_start, o.period_end, o.customers_start, o.customers_end, o.new_customers, o.crr_pct,
       o.orders, o.revenue, o.aov, o.purchase_frequency, o.customer_value, o.clv, o.observed_lifespan_years,
       c.cart_abandonment_pct, x.conversion_pct
FROM metrics_order_figures_at(at_time, period_unit, period_count, window_days, lifespan_years) o
JOIN metrics_cart_abandonment_at(at_time, period_unit, period_count) c USING (period_end)
JOIN metrics_conversion_at(at_time, period_unit, period_count) x USING (period_end)
ORDER BY o.period_start;
