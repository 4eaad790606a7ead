"""videogen agents."""
