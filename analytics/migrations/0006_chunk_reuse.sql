-- What of each render's picture the chunk cache gave and what was drawn (schemas.events ChunkReuse,
-- docs/chunk-cache.md), in seconds of 720p like pixel_seconds: an analyst sees what the cache saved
-- per tenant and per template.
ALTER TABLE jobs
    ADD COLUMN IF NOT EXISTS reused_pixel_seconds SimpleAggregateFunction(anyLast, Nullable(Float64)),
    ADD COLUMN IF NOT EXISTS rendered_pixel_seconds SimpleAggregateFunction(anyLast, Nullable(Float64));

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
