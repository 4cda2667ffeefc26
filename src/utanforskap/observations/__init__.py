"""The observation store: one tidy schema (`schema`), a DuckDB-over-Parquet store with atomic
commits (`store.ObservationStore`, `store.bundled_store()`), and aggregation up the area
hierarchy by summing numerators and denominators (`aggregate`)."""

__all__ = ["aggregate", "schema", "store"]
