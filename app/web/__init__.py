"""Serving: the Flask routes, the WSGI wiring, the hot path for stored documents, metrics."""
