"""Personas: schema, loading, and the grounded persona engine."""
