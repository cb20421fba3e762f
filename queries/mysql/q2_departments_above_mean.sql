-- Q2: departments that hired more employees in a year than the mean over all departments.
-- Every department counts in the mean, one without hires that year as 0.
-- Most hires first, ties by department name.
-- @param year integer 2021
WITH hires AS (
    SELECT d.id, d.department, COUNT(e.id) AS hired
    FROM departments AS d
    LEFT JOIN hired_employees AS e
        ON e.department_id = d.id
        AND e.datetime >= MAKEDATE(:year, 1) AND e.datetime < MAKEDATE(:year + 1, 1)
    GROUP BY d.id, d.department
)
SELECT id, department, hired
FROM hires
WHERE hired > (SELECT AVG(hired) FROM hires)
ORDER BY hired DESC, department
