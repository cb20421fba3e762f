-- Hires per year, quarter, department and job: what Q1 and Q2 read instead of every hire.
-- Kept in step with every load of hired_employees (csvgate check recomputes it from the rows).
SELECT
    CAST(date_part('year', datetime) AS INT) AS year,
    CAST(date_part('quarter', datetime) AS INT) AS quarter,
    department_id,
    job_id,
    COUNT(*) AS hires
FROM hired_employees
GROUP BY 1, 2, 3, 4
