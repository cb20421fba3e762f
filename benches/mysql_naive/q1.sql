-- Q1 as a user first writes it: the year and quarter taken from every row's timestamp, so no
-- index serves the filter, and the names joined to each hire before grouping.
SELECT
    d.department,
    j.job,
    SUM(QUARTER(e.datetime) = 1) AS Q1,
    SUM(QUARTER(e.datetime) = 2) AS Q2,
    SUM(QUARTER(e.datetime) = 3) AS Q3,
    SUM(QUARTER(e.datetime) = 4) AS Q4
FROM hired_employees AS e
JOIN departments AS d ON d.id = e.department_id
JOIN jobs AS j ON j.id = e.job_id
WHERE YEAR(e.datetime) = :year
GROUP BY d.department, j.job
ORDER BY d.department, j.job
