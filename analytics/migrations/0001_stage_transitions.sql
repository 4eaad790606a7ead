-- One row per stage transition: a job queued, a stage finished its work, a job ended (completed,
-- failed or cancelled at some stage). Progress-only events are not stored.
-- Keyed on (stage, job_id, status): a replayed event, or a stage redone after a rebalance, replaces
-- its row instead of adding one (read with FINAL, or through the `stages` view).
CREATE TABLE IF NOT EXISTS stage_transitions
(
    event_id    String,
    job_id      String,
    tenant      LowCardinality(String),
    request_id  String,
    stage       LowCardinality(String),
    status      LowCardinality(String),
    started_at  Nullable(DateTime64(3, 'UTC')),
    ended_at    DateTime64(3, 'UTC'),
    seconds     Nullable(Float64),
    bytes_in    Nullable(UInt64),
    bytes_out   Nullable(UInt64),
    error_code  LowCardinality(String),
    output_format LowCardinality(String)
)
ENGINE = ReplacingMergeTree(ended_at)
PARTITION BY toYYYYMM(ended_at)
ORDER BY (stage, job_id, status);
