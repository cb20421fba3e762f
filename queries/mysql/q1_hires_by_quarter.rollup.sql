-- Q1: employees hired in a year for each department and job, split by quarter.
-- One row per (department, job) with at least one hire that year, alphabetical.
-- Quarters come from the hire timestamp, stored in UTC.
-- @param year integer 2021
--
-- Read from the hires_by_quarter rollup (csvgate_rollup_hires_by_quarter): a few thousand
-- groups changed in the same transaction as every load, instead of every hire. `--exact-scan`
-- (`?exact=true`) runs q1_hires_by_quarter.sql over the hires instead, with the same answer.
WITH by_ids AS (
    SELECT
        department_id,
        job_id,
        SUM(CASE WHEN quarter = 1 THEN hires ELSE 0 END) AS q1,
        SUM(CASE WHEN quarter = 2 THEN hires ELSE 0 END) AS q2,
        SUM(CASE WHEN quarter = 3 THEN hires ELSE 0 END) AS q3,
        SUM(CASE WHEN quarter = 4 THEN hires ELSE 0 END) AS q4
    FROM csvgate_rollup_hires_by_quarter
    WHERE year = :year
    GROUP BY department_id, job_id
)
-- Two departments (or jobs) may share a name; like the question, count them as one.
SELECT
    d.department,
    j.job,
    CAST(SUM(h.q1) AS SIGNED) AS Q1,
    CAST(SUM(h.q2) AS SIGNED) AS Q2,
    CAST(SUM(h.q3) AS SIGNED) AS Q3,
    CAST(SUM(h.q4) AS SIGNED) AS Q4
FROM by_ids AS h
JOIN departments AS d ON d.id = h.department_id
JOIN jobs AS j ON j.id = h.job_id
GROUP BY d.department, j.job
ORDER BY d.department, j.job
