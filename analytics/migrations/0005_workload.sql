-- What each job asked of the workers, and what was unfinished ahead of it, when it was accepted: the
-- learning estimator's features (schemas.events Workload and Ahead, analytics/estimator.py); and
-- whether its render was in fact a stream copy (`stream_copy` says the spec qualified; the sources
-- decide).
ALTER TABLE jobs
    ADD COLUMN IF NOT EXISTS pixel_seconds SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS layer_seconds SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS effects SimpleAggregateFunction(anyLast, Nullable(UInt32)),
    ADD COLUMN IF NOT EXISTS stream_copy SimpleAggregateFunction(anyLast, Nullable(UInt8)),
    ADD COLUMN IF NOT EXISTS jobs_ahead SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS pixel_seconds_ahead SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS layer_seconds_ahead SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS effects_ahead SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS stream_copies_ahead SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS workers SimpleAggregateFunction(anyLast, Nullable(UInt32)),
    ADD COLUMN IF NOT EXISTS stream_copied SimpleAggregateFunction(max, Nullable(UInt8));

-- `SELECT *` in a view is expanded when the view is created: recreate it to carry the new columns.
CREATE OR REPLACE VIEW finished_jobs AS
SELECT
    *,
    dateDiff('millisecond', submitted_at, finished_at) / 1000 AS processing_seconds,
    processing_seconds / nullIf(estimated_seconds, 0) AS estimate_ratio,
    toUInt8(ifNull(quick_path, 0) = 1 AND status = 'completed'
            AND processing_seconds <= quick_threshold_seconds) AS quick_response
FROM jobs FINAL
WHERE status IS NOT NULL;
