"""Faust agents, one module per pipeline stage: validate → fetch → render → upload → notify,
plus the job-state fold. Importing this package registers them on `streams.app.app`."""
