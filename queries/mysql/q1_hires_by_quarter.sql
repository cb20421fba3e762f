-- Q1: employees hired in a year for each department and job, split by quarter.
-- One row per (department, job) with at least one hire that year, alphabetical.
-- `datetime` holds UTC. The year is the parameter; the range keeps the index usable.
-- @param year integer 2021
SELECT
    d.department,
    j.job,
    CAST(SUM(QUARTER(e.datetime) = 1) AS SIGNED) AS Q1,
    CAST(SUM(QUARTER(e.datetime) = 2) AS SIGNED) AS Q2,
    CAST(SUM(QUARTER(e.datetime) = 3) AS SIGNED) AS Q3,
    CAST(SUM(QUARTER(e.datetime) = 4) AS SIGNED) AS Q4
FROM hired_employees AS e
JOIN departments AS d ON d.id = e.department_id
JOIN jobs AS j ON j.id = e.job_id
WHERE e.datetime >= MAKEDATE(:year, 1) AND e.datetime < MAKEDATE(:year + 1, 1)
GROUP BY d.department, j.job
ORDER BY d.department, j.job
