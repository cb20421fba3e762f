-- Q1: employees hired in a year for each department and job, split by quarter.
-- One row per (department, job) with at least one hire that year, alphabetical.
-- `datetime` holds UTC. The year is the parameter; the range keeps the index usable.
-- @param year integer 2021
--
-- Hires are counted per quarter and pair of ids before any name is joined, so the joins see a
-- row per (department, job, quarter), not one per hire. Each quarter is a range of `datetime`
-- read from the index on (datetime, department_id, job_id) alone, never a row (EXPLAIN: "Using
-- index"), and no function runs per hire (QUARTER() on each of them doubled the time). The index
-- is named because, with statistics a bulk load has left stale, MariaDB may otherwise fetch
-- each department's rows through its foreign key's index, reading every row of the table.
WITH by_quarter AS (
    SELECT 1 AS quarter, department_id, job_id, COUNT(*) AS hires
    FROM hired_employees FORCE INDEX (hired_employees_datetime_idx)
    WHERE datetime >= MAKEDATE(:year, 1)
        AND datetime < MAKEDATE(:year, 1) + INTERVAL 3 MONTH
    GROUP BY department_id, job_id
    UNION ALL
    SELECT 2, department_id, job_id, COUNT(*)
    FROM hired_employees FORCE INDEX (hired_employees_datetime_idx)
    WHERE datetime >= MAKEDATE(:year, 1) + INTERVAL 3 MONTH
        AND datetime < MAKEDATE(:year, 1) + INTERVAL 6 MONTH
    GROUP BY department_id, job_id
    UNION ALL
    SELECT 3, department_id, job_id, COUNT(*)
    FROM hired_employees FORCE INDEX (hired_employees_datetime_idx)
    WHERE datetime >= MAKEDATE(:year, 1) + INTERVAL 6 MONTH
        AND datetime < MAKEDATE(:year, 1) + INTERVAL 9 MONTH
    GROUP BY department_id, job_id
    UNION ALL
    SELECT 4, department_id, job_id, COUNT(*)
    FROM hired_employees FORCE INDEX (hired_employees_datetime_idx)
    WHERE datetime >= MAKEDATE(:year, 1) + INTERVAL 9 MONTH
        AND datetime < MAKEDATE(:year + 1, 1)
    GROUP BY department_id, job_id
)
-- Two departments (or jobs) may share a name; like the question, count them as one.
SELECT
    d.department,
    j.job,
    CAST(SUM(CASE WHEN h.quarter = 1 THEN h.hires ELSE 0 END) AS SIGNED) AS Q1,
    CAST(SUM(CASE WHEN h.quarter = 2 THEN h.hires ELSE 0 END) AS SIGNED) AS Q2,
    CAST(SUM(CASE WHEN h.quarter = 3 THEN h.hires ELSE 0 END) AS SIGNED) AS Q3,
    CAST(SUM(CASE WHEN h.quarter = 4 THEN h.hires ELSE 0 END) AS SIGNED) AS Q4
FROM by_quarter AS h
JOIN departments AS d ON d.id = h.department_id
JOIN jobs AS j ON j.id = h.job_id
GROUP BY d.department, j.job
ORDER BY d.department, j.job
