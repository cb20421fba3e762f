-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name. $1 is the year.
-- The mean is a window over the per-department counts, so the employees are scanned once
-- (DataFusion would evaluate a CTE named twice twice).
WITH hires AS (
    SELECT d.id, d.department, COUNT(e.id) AS hired
    FROM departments AS d
    LEFT JOIN hired_employees AS e
        ON e.department_id = d.id AND date_part('year', e.datetime) = $1
    GROUP BY d.id, d.department
),
with_mean AS (
    SELECT id, department, hired, AVG(hired) OVER () AS mean_hired
    FROM hires
)
SELECT id, department, hired
FROM with_mean
WHERE hired > mean_hired
ORDER BY hired DESC, department
