"""Prefect flows: thin composition over ``goodwill`` (the core holds the logic)."""
