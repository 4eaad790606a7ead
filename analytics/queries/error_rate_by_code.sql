-- Error rate by code: failed and cancelled jobs per error code (and the stage it ended in) as a share
-- of all finished jobs.
SELECT
    error_code,
    failed_stage,
    count() AS jobs,
    round(jobs / (SELECT count() FROM finished_jobs), 4) AS rate
FROM finished_jobs
WHERE status != 'completed'
GROUP BY error_code, failed_stage
ORDER BY jobs DESC
