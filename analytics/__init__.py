"""Job analytics: JobEvents into ClickHouse (or the embedded chDB store), analyst queries, the
estimator that learns from them, and the Prometheus metrics of every process. See README.md."""
