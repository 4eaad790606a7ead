"""videogen deploy."""
