-- Processing time distribution by stage (seconds each stage spent on one job), plus the whole job
-- from submission to its end.
SELECT stage, count() AS jobs,
    round(quantile(0.5)(seconds), 2) AS p50,
    round(quantile(0.95)(seconds), 2) AS p95,
    round(quantile(0.99)(seconds), 2) AS p99,
    round(max(seconds), 2) AS max
FROM stages
WHERE status = 'completed' AND seconds IS NOT NULL
GROUP BY stage
UNION ALL
SELECT 'job (total)' AS stage, count() AS jobs,
    round(quantile(0.5)(processing_seconds), 2) AS p50,
    round(quantile(0.95)(processing_seconds), 2) AS p95,
    round(quantile(0.99)(processing_seconds), 2) AS p99,
    round(max(processing_seconds), 2) AS max
FROM finished_jobs
WHERE status = 'completed' AND processing_seconds IS NOT NULL
