-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name.
-- @param year integer 2021
--
-- Read from the hires_by_quarter rollup (csvgate_rollup_hires_by_quarter) instead of every
-- hire. `--exact-scan` (`?exact=true`) runs q2_departments_above_mean.sql, with the same answer.
WITH by_id AS (
    SELECT department_id, SUM(hires) AS hired
    FROM csvgate_rollup_hires_by_quarter
    WHERE year = :year
    GROUP BY department_id
),
with_mean AS (
    SELECT
        d.id,
        d.department,
        COALESCE(h.hired, 0) AS hired,
        AVG(COALESCE(h.hired, 0)) OVER () AS mean_hired
    FROM departments AS d
    LEFT JOIN by_id AS h ON h.department_id = d.id
)
SELECT id, department, CAST(hired AS SIGNED) AS hired
FROM with_mean
WHERE hired > mean_hired
ORDER BY hired DESC, department
