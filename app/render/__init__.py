"""Rendering: records in, bytes out. Pure: no store, no clock (``now`` is a parameter)."""
