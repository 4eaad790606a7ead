"""The job logic of every pipeline stage, free of Faust: each handler takes its decoded message
and a `StageRuntime` (bus, job states, this worker's work registry), so it runs and is tested
without a broker. `agents/<stage>.py` wire these handlers to Faust topics."""
