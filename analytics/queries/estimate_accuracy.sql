-- Estimate accuracy: actual ÷ estimated processing seconds of completed jobs by output format.
-- median_abs_error is the median of |actual/estimated - 1| (0 is perfect).
SELECT
    output_format,
    count() AS jobs,
    round(quantile(0.5)(estimate_ratio), 3) AS median_ratio,
    round(quantile(0.1)(estimate_ratio), 3) AS p10_ratio,
    round(quantile(0.9)(estimate_ratio), 3) AS p90_ratio,
    round(quantile(0.5)(abs(estimate_ratio - 1)), 3) AS median_abs_error
FROM finished_jobs
WHERE status = 'completed' AND estimate_ratio IS NOT NULL
GROUP BY output_format
ORDER BY jobs DESC
