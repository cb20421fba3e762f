-- Q2 as a user first writes it: the year taken from every row's timestamp, and the mean from a
-- second pass over the counts.
WITH hires AS (
    SELECT d.id, d.department, COUNT(e.id) AS hired
    FROM departments AS d
    LEFT JOIN hired_employees AS e
        ON e.department_id = d.id AND YEAR(e.datetime) = :year
    GROUP BY d.id, d.department
)
SELECT id, department, hired
FROM hires
WHERE hired > (SELECT AVG(hired) FROM hires)
ORDER BY hired DESC, department
