"""Pydantic models: the single source of truth for every payload videogen reads or writes."""
