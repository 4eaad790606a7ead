-- Processing time (submission to result) of completed jobs by output resolution and length.
SELECT
    multiIf(height <= 480, '<=480p', height <= 720, '720p', height <= 1080, '1080p', '>1080p') AS resolution,
    multiIf(output_duration_seconds <= 10, '<=10s', output_duration_seconds <= 60, '10-60s', '>60s') AS length,
    count() AS jobs,
    round(quantile(0.5)(processing_seconds), 2) AS p50,
    round(quantile(0.95)(processing_seconds), 2) AS p95,
    round(quantile(0.99)(processing_seconds), 2) AS p99
FROM finished_jobs
WHERE status = 'completed' AND processing_seconds IS NOT NULL
GROUP BY resolution, length
ORDER BY resolution, length
