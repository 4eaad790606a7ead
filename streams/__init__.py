"""videogen streams."""
