-- Quick response rate: of the jobs the API held for a synchronous answer (estimate within the quick
-- threshold), how many were answered with 200 + result_url; and of all API jobs, per day.
SELECT
    toDate(submitted_at) AS day,
    count() AS api_jobs,
    countIf(quick_path = 1) AS held,
    sum(quick_response) AS answered_quick,
    round(answered_quick / nullIf(held, 0), 3) AS quick_rate_of_held,
    round(answered_quick / api_jobs, 3) AS quick_rate_of_all
FROM finished_jobs
WHERE quick_path IS NOT NULL
GROUP BY day
ORDER BY day
