"""Topic names: the Kafka contract. Every topic has the same partition count and key = job id,
so all of one job's messages land on the same partition number everywhere and its stages
stay on one worker. The batch topic is keyed by batch id instead, so all of a batch's items meet
on one partition, where the `batches` table (co-partitioned with it) folds them. The templates
topic is keyed by template id and compacted: the latest version of each template is kept for good
(a null value deletes it), and every API instance folds all of it."""

from __future__ import annotations

APP_ID = "videogen"

REQUESTED = "videogen.jobs.requested"
VALIDATED = "videogen.jobs.validated"
FETCHED = "videogen.jobs.fetched"
RENDERED = "videogen.jobs.rendered"
UPLOADED = "videogen.jobs.uploaded"
EVENTS = "videogen.jobs.events"
RESULTS = "videogen.jobs.results"
DLQ = "videogen.jobs.dlq"
BATCH_ITEMS = "videogen.batches.items"
CHUNKS = "videogen.render.chunks"  # keyed by job id and chunk number: chunks spread over the group
TEMPLATES = "videogen.templates"

# Consumer groups: Faust's, and our own consumers' (the intake in agents/validate.py, callbacks in
# agents/notify.py).
STAGES_GROUP = APP_ID
INTAKE_GROUP = f"{APP_ID}-intake"
CALLBACKS_GROUP = f"{APP_ID}-callbacks"
# Never consumes: the workers commit here, per events partition, the offset of the first event of
# its oldest unfinished job, where an API instance starts reading (api/jobstore.py).
API_START_GROUP = f"{APP_ID}-api-start"

JOB_STATE_TABLE = "job_state"
JOB_STATE_CHANGELOG = f"{APP_ID}-{JOB_STATE_TABLE}-changelog"
ACTIVE_JOBS_TABLE = "active_jobs"
ACTIVE_JOBS_CHANGELOG = f"{APP_ID}-{ACTIVE_JOBS_TABLE}-changelog"
BATCH_TABLE = "batches"
BATCH_CHANGELOG = f"{APP_ID}-{BATCH_TABLE}-changelog"

ALL_TOPICS: tuple[str, ...] = (
    REQUESTED,
    VALIDATED,
    FETCHED,
    RENDERED,
    UPLOADED,
    EVENTS,
    RESULTS,
    DLQ,
    BATCH_ITEMS,
    CHUNKS,
    TEMPLATES,
    JOB_STATE_CHANGELOG,
    ACTIVE_JOBS_CHANGELOG,
    BATCH_CHANGELOG,
)
COMPACTED: frozenset[str] = frozenset(
    {JOB_STATE_CHANGELOG, ACTIVE_JOBS_CHANGELOG, BATCH_CHANGELOG, TEMPLATES}
)
