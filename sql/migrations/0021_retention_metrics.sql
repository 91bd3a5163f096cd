-- Retention metrics (definitions: docs/metrics.md). Each table macro takes the evaluation time T and the period
-- settings, so analysts can ask for any T; each view applies its macro at the latest run's T with the defaults
-- (quarter, 4 periods, active window 365 days, lifespan 2 years). `retarget metrics` reads the same macros.

-- Completed orders (the completed_orders rule, the one segments use) of known customers: what every figure counts.
-- Guest orders name no customer: left out. Revenue is the sum of line price × quantity (order_items), joined only
-- where a figure needs it, so the counts never pay for reading the lines.
CREATE VIEW customer_orders AS
SELECT order_id, customer_id, ordered_at FROM completed_orders WHERE customer_id IS NOT NULL;

-- The latest run's T (now, in UTC, before the first run): the T of every view below.
CREATE VIEW metrics_as_of AS
SELECT coalesce(
  (SELECT as_of FROM pipeline_runs ORDER BY started_at DESC LIMIT 1),
  get_current_timestamp() AT TIME ZONE 'UTC'
) AS as_of;

-- Identities (a customer, else an anonymous visitor) and their purchases: completed orders and `purchase` events.
CREATE VIEW metrics_identity_purchases AS
SELECT customer_id AS identity, ordered_at AS purchased_at FROM customer_orders
UNION ALL
SELECT coalesce(customer_id, 'anonymous:' || anonymous_id), occurred_at FROM events
WHERE event_name = 'purchase' AND coalesce(customer_id, anonymous_id) IS NOT NULL;

-- The periods (S, E]: period_count whole calendar periods (month, quarter or year), the last ending at or before T.
CREATE MACRO metric_periods(at_time, period_unit, period_count) AS TABLE
WITH unit AS (
  SELECT CASE period_unit
    WHEN 'month' THEN INTERVAL 1 MONTH WHEN 'quarter' THEN INTERVAL 3 MONTH WHEN 'year' THEN INTERVAL 1 YEAR
    ELSE error('period must be month, quarter or year, not ' || period_unit) END AS step
)
SELECT date_trunc(period_unit, at_time::TIMESTAMP) - (k + 1) * step AS period_start,
       date_trunc(period_unit, at_time::TIMESTAMP) - k * step AS period_end
FROM unit, range(period_count) r(k);

-- customers_start B, customers_end E, new_customers N, crr_pct = (E - N) / B × 100 (NULL when B = 0).
CREATE MACRO metrics_retention_at(at_time, period_unit, period_count, window_days) AS TABLE
WITH p AS (SELECT * FROM metric_periods(at_time, period_unit, period_count)),
firsts AS (SELECT customer_id, min(ordered_at) AS first_at FROM customer_orders GROUP BY customer_id),
counts AS (
  SELECT p.period_start, p.period_end,
    (SELECT count(DISTINCT o.customer_id) FROM customer_orders o
     WHERE o.ordered_at > p.period_start - to_days(window_days::INTEGER) AND o.ordered_at <= p.period_start) AS b,
    (SELECT count(DISTINCT o.customer_id) FROM customer_orders o
     WHERE o.ordered_at > p.period_end - to_days(window_days::INTEGER) AND o.ordered_at <= p.period_end) AS e,
    (SELECT count(*) FROM firsts f WHERE f.first_at > p.period_start AND f.first_at <= p.period_end) AS n
  FROM p
)
SELECT period_start, period_end, b AS customers_start, e AS customers_end, n AS new_customers,
       CASE WHEN b > 0 THEN round((e - n) * 100.0 / b, 2) END AS crr_pct
FROM counts;

-- orders, revenue, aov = revenue / orders, purchase_frequency = orders / ordering customers,
-- customer_value = aov × purchase_frequency: completed orders in (S, E].
CREATE MACRO metrics_orders_at(at_time, period_unit, period_count) AS TABLE
WITH sums AS (
  SELECT p.period_start, p.period_end, count(DISTINCT o.order_id) AS orders,
         coalesce(sum(i.unit_price * i.quantity), 0) AS revenue, count(DISTINCT o.customer_id) AS customers
  FROM metric_periods(at_time, period_unit, period_count) p
  LEFT JOIN customer_orders o ON o.ordered_at > p.period_start AND o.ordered_at <= p.period_end
  LEFT JOIN order_items i ON i.order_id = o.order_id
  GROUP BY p.period_start, p.period_end
)
SELECT period_start, period_end, orders, round(revenue, 2) AS revenue,
       round(revenue / nullif(orders, 0), 2)::DOUBLE AS aov,
       round(orders / nullif(customers, 0), 2)::DOUBLE AS purchase_frequency,
       round(revenue / nullif(customers, 0), 2)::DOUBLE AS customer_value
FROM sums;

-- clv: customer value per year (completed orders in (E - 365 days, E]) × lifespan_years; observed_lifespan_years:
-- the average time from first to last completed order of the customers who ordered at or before E.
CREATE MACRO metrics_clv_at(at_time, period_unit, period_count, lifespan_years) AS TABLE
WITH year AS (
  SELECT p.period_start, p.period_end, coalesce(sum(i.unit_price * i.quantity), 0) AS revenue,
         count(DISTINCT o.customer_id) AS customers
  FROM metric_periods(at_time, period_unit, period_count) p
  LEFT JOIN customer_orders o ON o.ordered_at > p.period_end - INTERVAL 365 DAY AND o.ordered_at <= p.period_end
  LEFT JOIN order_items i ON i.order_id = o.order_id
  GROUP BY p.period_start, p.period_end
),
-- Each customer's first order, and for each order the customer's next one: an order is the customer's last at or
-- before E when the next comes after E. Sums over those, per period, without one group per customer and period.
ranked AS (
  SELECT ordered_at, lag(ordered_at) OVER w IS NULL AS is_first, lead(ordered_at) OVER w AS next_at
  FROM customer_orders
  WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at)
),
spans AS (
  SELECT p.period_end,
         (sum(epoch(r.ordered_at)) FILTER (r.next_at IS NULL OR r.next_at > p.period_end)
          - sum(epoch(r.ordered_at)) FILTER (r.is_first)) / count(*) FILTER (r.is_first) / (365 * 86400) AS years
  FROM metric_periods(at_time, period_unit, period_count) p
  JOIN ranked r ON r.ordered_at <= p.period_end
  GROUP BY p.period_end
)
SELECT y.period_start, y.period_end,
       round(y.revenue / nullif(y.customers, 0) * lifespan_years, 2)::DOUBLE AS clv,
       round(s.years, 2)::DOUBLE AS observed_lifespan_years
FROM year y LEFT JOIN spans s ON s.period_end = y.period_end;

-- cart_abandonment_pct: carts are distinct (identity, day) with an add_to_cart in (S, E]; a cart is abandoned when its
-- identity made no purchase from its first add_to_cart that day to 7 days later (never after T).
CREATE MACRO metrics_cart_abandonment_at(at_time, period_unit, period_count) AS TABLE
WITH carts AS (
  SELECT p.period_start, p.period_end, coalesce(e.customer_id, 'anonymous:' || e.anonymous_id) AS identity,
         e.occurred_at::DATE AS day, min(e.occurred_at) AS added_at
  FROM metric_periods(at_time, period_unit, period_count) p
  JOIN events e ON e.event_name = 'add_to_cart' AND e.occurred_at > p.period_start AND e.occurred_at <= p.period_end
  WHERE coalesce(e.customer_id, e.anonymous_id) IS NOT NULL
  GROUP BY ALL
),
outcomes AS (
  SELECT c.period_start, c.period_end, c.identity, c.day, bool_or(b.identity IS NOT NULL) AS bought
  FROM carts c
  LEFT JOIN metrics_identity_purchases b ON b.identity = c.identity AND b.purchased_at >= c.added_at
    AND b.purchased_at <= c.added_at + INTERVAL 7 DAY AND b.purchased_at <= at_time::TIMESTAMP
  GROUP BY ALL
)
SELECT p.period_start, p.period_end, count(o.identity) AS carts, count(o.identity) FILTER (NOT o.bought) AS abandoned,
       round(count(o.identity) FILTER (NOT o.bought) * 100.0 / nullif(count(o.identity), 0), 2)::DOUBLE
         AS cart_abandonment_pct
FROM metric_periods(at_time, period_unit, period_count) p
LEFT JOIN outcomes o ON o.period_end = p.period_end
GROUP BY p.period_start, p.period_end;

-- conversion_pct: identities with any event in (S, E] that purchased in (S, E], over identities with any event.
CREATE MACRO metrics_conversion_at(at_time, period_unit, period_count) AS TABLE
WITH visitors AS (
  SELECT DISTINCT p.period_start, p.period_end, coalesce(e.customer_id, 'anonymous:' || e.anonymous_id) AS identity
  FROM metric_periods(at_time, period_unit, period_count) p
  JOIN events e ON e.occurred_at > p.period_start AND e.occurred_at <= p.period_end
  WHERE coalesce(e.customer_id, e.anonymous_id) IS NOT NULL
),
buyers AS (
  SELECT DISTINCT p.period_end, b.identity
  FROM metric_periods(at_time, period_unit, period_count) p
  JOIN metrics_identity_purchases b ON b.purchased_at > p.period_start AND b.purchased_at <= p.period_end
)
SELECT p.period_start, p.period_end, count(v.identity) AS visitors, count(b.identity) AS converted,
       round(count(b.identity) * 100.0 / nullif(count(v.identity), 0), 2)::DOUBLE AS conversion_pct
FROM metric_periods(at_time, period_unit, period_count) p
LEFT JOIN visitors v ON v.period_end = p.period_end
LEFT JOIN buyers b ON b.period_end = v.period_end AND b.identity = v.identity
GROUP BY p.period_start, p.period_end;

-- Every figure per period, in the order of `retarget metrics --json`.
CREATE MACRO metrics_by_period_at(at_time, period_unit, period_count, window_days, lifespan_years) AS TABLE
SELECT r.period_start, r.period_end, r.customers_start, r.customers_end, r.new_customers, r.crr_pct,
       o.orders, o.revenue, o.aov, o.purchase_frequency, o.customer_value, v.clv, v.observed_lifespan_years,
       c.cart_abandonment_pct, x.conversion_pct
FROM metrics_retention_at(at_time, period_unit, period_count, window_days) r
JOIN metrics_orders_at(at_time, period_unit, period_count) o USING (period_end)
JOIN metrics_clv_at(at_time, period_unit, period_count, lifespan_years) v USING (period_end)
JOIN metrics_cart_abandonment_at(at_time, period_unit, period_count) c USING (period_end)
JOIN metrics_conversion_at(at_time, period_unit, period_count) x USING (period_end)
ORDER BY r.period_start;

-- Per customer who ordered by T: completed orders, revenue, first and last order, the revenue of the trailing 365
-- days, and predicted_clv = that year's revenue × lifespan_years.
CREATE MACRO customer_values_at(at_time, lifespan_years) AS TABLE
WITH valued AS (
  SELECT o.order_id, o.customer_id, o.ordered_at, coalesce(sum(i.unit_price * i.quantity), 0) AS revenue
  FROM customer_orders o LEFT JOIN order_items i ON i.order_id = o.order_id
  WHERE o.ordered_at <= at_time::TIMESTAMP
  GROUP BY o.order_id, o.customer_id, o.ordered_at
)
SELECT customer_id, count(*) AS orders, sum(revenue) AS revenue, min(ordered_at) AS first_order_at,
       max(ordered_at) AS last_order_at,
       coalesce(sum(revenue) FILTER (ordered_at > at_time::TIMESTAMP - INTERVAL 365 DAY), 0) AS revenue_last_365_days,
       round(coalesce(sum(revenue) FILTER (ordered_at > at_time::TIMESTAMP - INTERVAL 365 DAY), 0)
             * lifespan_years, 2)::DOUBLE AS predicted_clv
FROM valued
GROUP BY customer_id;

-- The same at the latest run's T with the defaults: plain SELECTs for analysts.
CREATE VIEW metrics_retention AS
SELECT * FROM metrics_retention_at((SELECT as_of FROM metrics_as_of), 'quarter', 4, 365);
CREATE VIEW metrics_orders AS SELECT * FROM metrics_orders_at((SELECT as_of FROM metrics_as_of), 'quarter', 4);
CREATE VIEW metrics_clv AS SELECT * FROM metrics_clv_at((SELECT as_of FROM metrics_as_of), 'quarter', 4, 2);
CREATE VIEW metrics_cart_abandonment AS
SELECT * FROM metrics_cart_abandonment_at((SELECT as_of FROM metrics_as_of), 'quarter', 4);
CREATE VIEW metrics_conversion AS
SELECT * FROM metrics_conversion_at((SELECT as_of FROM metrics_as_of), 'quarter', 4);
CREATE VIEW metrics_by_period AS
SELECT * FROM metrics_by_period_at((SELECT as_of FROM metrics_as_of), 'quarter', 4, 365, 2);
CREATE VIEW customer_values AS SELECT * FROM customer_values_at((SELECT as_of FROM metrics_as_of), 2);
