"""Kafka plumbing: topic names and declarations, the Faust app, payload codecs, JSON logs."""
