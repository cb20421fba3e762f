-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name.
-- @param year integer 2021
--
-- Hires are counted per department id over a range of timestamps (row groups outside the year
-- are skipped by their statistics) before the departments are joined, and the mean is a window
-- over those counts, so the employees are scanned once.
-- DuckDB runs this same text as the anchor of benches/reports.sh.
WITH by_id AS (
    SELECT department_id, COUNT(*) AS hired
    FROM hired_employees
    WHERE datetime >= make_date($year, 1, 1) AND datetime < make_date($year + 1, 1, 1)
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
