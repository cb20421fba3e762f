-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name.
-- @param year integer 2021
--
-- Hires are counted per department id from the index on (datetime, department_id, job_id)
-- alone (named, as in Q1) before the departments are joined, and the mean is a window over
-- those counts, so the year's entries are read once.
WITH by_id AS (
    SELECT department_id, COUNT(*) AS hired
    FROM hired_employees FORCE INDEX (hired_employees_datetime_idx)
    WHERE datetime >= MAKEDATE(:year, 1) AND datetime < MAKEDATE(:year + 1, 1)
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
SELECT id, department, hired
FROM with_mean
WHERE hired > mean_hired
ORDER BY hired DESC, department
