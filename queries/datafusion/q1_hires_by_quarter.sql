-- Q1: employees hired in a year for each department and job, split by quarter.
-- One row per (department, job) with at least one hire that year, alphabetical.
-- Quarters come from the hire timestamp, stored in UTC. $1 is the year.
SELECT
    d.department,
    j.job,
    SUM(CASE WHEN date_part('quarter', e.datetime) = 1 THEN 1 ELSE 0 END) AS "Q1",
    SUM(CASE WHEN date_part('quarter', e.datetime) = 2 THEN 1 ELSE 0 END) AS "Q2",
    SUM(CASE WHEN date_part('quarter', e.datetime) = 3 THEN 1 ELSE 0 END) AS "Q3",
    SUM(CASE WHEN date_part('quarter', e.datetime) = 4 THEN 1 ELSE 0 END) AS "Q4"
FROM hired_employees AS e
JOIN departments AS d ON d.id = e.department_id
JOIN jobs AS j ON j.id = e.job_id
WHERE date_part('year', e.datetime) = $1
GROUP BY d.department, j.job
ORDER BY d.department, j.job
