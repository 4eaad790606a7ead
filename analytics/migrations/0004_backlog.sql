-- Jobs unfinished when a job was accepted: the queue ahead of it, which the learning estimator
-- fits next to the output size (a burst of jobs waits, a lone one does not).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS backlog SimpleAggregateFunction(max, Nullable(UInt32));

-- `SELECT *` in a view is expanded when the view is created: recreate it to carry the new column.
CREATE OR REPLACE VIEW finished_jobs AS
SELECT
    *,
    dateDiff('millisecond', submitted_at, finished_at) / 1000 AS processing_seconds,
    processing_seconds / nullIf(estimated_seconds, 0) AS estimate_ratio,
    toUInt8(ifNull(quick_path, 0) = 1 AND status = 'completed'
            AND processing_seconds <= quick_threshold_seconds) AS quick_response
FROM jobs FINAL
WHERE status IS NOT NULL;
