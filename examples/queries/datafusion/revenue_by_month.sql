-- Orders and revenue of a year by month, over the retail example's orders.
-- Revenue is exact: quantity times the DECIMAL(10,2) price, summed as a decimal.
-- @param year integer 2024
SELECT
    CAST(date_part('month', ordered_on) AS BIGINT) AS month,
    COUNT(*) AS orders,
    SUM(quantity * unit_price) AS revenue
FROM orders
WHERE ordered_on >= make_date($year, 1, 1) AND ordered_on < make_date($year + 1, 1, 1)
GROUP BY 1
ORDER BY 1
