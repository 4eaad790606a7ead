"""videogen api."""
