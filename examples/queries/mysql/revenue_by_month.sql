-- Orders and revenue of a year by month, over the retail example's orders.
-- Revenue is exact: quantity times the DECIMAL(10,2) price, summed as a decimal.
-- @param year integer 2024
SELECT
    MONTH(ordered_on) AS month,
    COUNT(*) AS orders,
    SUM(quantity * unit_price) AS revenue
FROM orders
WHERE ordered_on >= MAKEDATE(:year, 1) AND ordered_on < MAKEDATE(:year + 1, 1)
GROUP BY MONTH(ordered_on)
ORDER BY month
