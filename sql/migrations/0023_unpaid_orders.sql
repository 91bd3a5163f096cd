-- Unpaid orders are not purchases: store sources load them with status 'unpaid' (Ecwid: AWAITING_PAYMENT and
-- INCOMPLETE), which completed_orders now leaves out beside cancelled and refunded.
-- Every view built on completed_orders (purchases, the metric views) follows.
CREATE OR REPLACE VIEW completed_orders AS
SELECT * FROM orders WHERE lower(trim(status)) NOT IN ('cancelled', 'canceled', 'refunded', 'unpaid');
