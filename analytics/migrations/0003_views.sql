-- What analysts query: the tables above, merged, with the derived figures spelled out.
CREATE VIEW IF NOT EXISTS stages AS
SELECT * FROM stage_transitions FINAL;

CREATE VIEW IF NOT EXISTS finished_jobs AS
SELECT
    *,
    dateDiff('millisecond', submitted_at, finished_at) / 1000 AS processing_seconds,
    processing_seconds / nullIf(estimated_seconds, 0) AS estimate_ratio,
    toUInt8(ifNull(quick_path, 0) = 1 AND status = 'completed'
            AND processing_seconds <= quick_threshold_seconds) AS quick_response
FROM jobs FINAL
WHERE status IS NOT NULL;
