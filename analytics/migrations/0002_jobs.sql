-- One row per job, assembled from its events: every transition contributes the columns it knows
-- (the accepted/validate events the estimate and element counts, fetch the source bytes, the terminal
-- event the outcome). NULL means "not known by this event"; merges keep the known value, so a replayed
-- event changes nothing. Read with FINAL, or through the `finished_jobs` view.
CREATE TABLE IF NOT EXISTS jobs
(
    job_id              String,
    tenant              SimpleAggregateFunction(anyLast, Nullable(String)),
    request_id          SimpleAggregateFunction(anyLast, Nullable(String)),
    status              SimpleAggregateFunction(anyLast, Nullable(String)),
    error_code          SimpleAggregateFunction(anyLast, Nullable(String)),
    failed_stage        SimpleAggregateFunction(anyLast, Nullable(String)),
    submitted_at        SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    finished_at         SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    estimated_seconds   SimpleAggregateFunction(anyLast, Nullable(Float64)),
    quick_path          SimpleAggregateFunction(max, Nullable(UInt8)),
    quick_threshold_seconds SimpleAggregateFunction(anyLast, Nullable(Float64)),
    output_format       SimpleAggregateFunction(anyLast, Nullable(String)),
    output_duration_seconds SimpleAggregateFunction(anyLast, Nullable(Float64)),
    output_bytes        SimpleAggregateFunction(max, Nullable(UInt64)),
    width               SimpleAggregateFunction(anyLast, Nullable(UInt32)),
    height              SimpleAggregateFunction(anyLast, Nullable(UInt32)),
    source_bytes        SimpleAggregateFunction(max, Nullable(UInt64)),
    elements_video      SimpleAggregateFunction(max, Nullable(UInt32)),
    elements_image      SimpleAggregateFunction(max, Nullable(UInt32)),
    elements_text       SimpleAggregateFunction(max, Nullable(UInt32)),
    elements_audio      SimpleAggregateFunction(max, Nullable(UInt32)),
    elements_color      SimpleAggregateFunction(max, Nullable(UInt32))
)
ENGINE = AggregatingMergeTree
ORDER BY job_id;
