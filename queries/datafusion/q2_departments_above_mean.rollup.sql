-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name.
-- @param year integer 2021
--
-- Read from the hires_by_quarter rollup (queries/rollups/) instead of every hire.
-- `--exact-scan` (`?exact=true`) runs q2_departments_above_mean.sql, with the same answer.
WITH by_id AS (
    SELECT department_id, SUM(hires) AS hired
    FROM hires_by_quarter
    WHERE year = $year
    GROUP BY department_id
),
hires AS (
    SELECT d.id, d.department, COALESCE(h.hired, 0) AS hired
    FROM departments AS d
    LEFT JOIN by_id AS h ON h.department_id = d.id
),
with_mean AS (
    SELECT id, department, hired, AVG(hired) OVER () AS mean_hired
    FROM hires
)
SELECT id, department, hired
FROM with_mean
WHERE hired > mean_hired
ORDER BY hired DESC, department
