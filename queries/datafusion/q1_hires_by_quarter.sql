-- Q1: employees hired in a year for each department and job, split by quarter.
-- One row per (department, job) with at least one hire that year, alphabetical.
-- Quarters come from the hire timestamp, stored in UTC.
-- @param year integer 2021
--
-- The year is a range of timestamps, so row groups of the Parquet files that lie outside it
-- are skipped by their statistics, and hires are counted per pair of ids before any name is
-- joined: the joins then see one row per (department, job), not one per hire.
-- DuckDB runs this same text as the anchor of benches/reports.sh.
WITH year_hires AS (
    SELECT department_id, job_id, date_part('quarter', datetime) AS quarter
    FROM hired_employees
    WHERE datetime >= make_date($year, 1, 1) AND datetime < make_date($year + 1, 1, 1)
),
by_ids AS (
    SELECT
        department_id,
        job_id,
        COUNT(*) FILTER (WHERE quarter = 1) AS q1,
        COUNT(*) FILTER (WHERE quarter = 2) AS q2,
        COUNT(*) FILTER (WHERE quarter = 3) AS q3,
        COUNT(*) FILTER (WHERE quarter = 4) AS q4
    FROM year_hires
    GROUP BY department_id, job_id
)
-- Two departments (or jobs) may share a name; like the question, count them as one.
SELECT
    d.department,
    j.job,
    SUM(h.q1) AS "Q1",
    SUM(h.q2) AS "Q2",
    SUM(h.q3) AS "Q3",
    SUM(h.q4) AS "Q4"
FROM by_ids AS h
JOIN departments AS d ON d.id = h.department_id
JOIN jobs AS j ON j.id = h.job_id
GROUP BY d.department, j.job
ORDER BY d.department, j.job
