"""videogen analytics."""
