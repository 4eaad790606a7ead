"""videogen media."""
