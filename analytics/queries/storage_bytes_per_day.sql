-- Storage written to S3 per day: rendered bytes of completed jobs, and the source bytes fetched for them.
SELECT
    toDate(finished_at) AS day,
    count() AS videos,
    sum(output_bytes) AS output_bytes,
    formatReadableSize(output_bytes) AS output_size,
    sum(source_bytes) AS source_bytes
FROM finished_jobs
WHERE status = 'completed'
GROUP BY day
ORDER BY day
