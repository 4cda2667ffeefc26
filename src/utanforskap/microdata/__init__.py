"""Person-level microdata: aggregation, disclosure control and a synthetic population (docs/mikrodata.md).

Public API::

    aggregate.aggregate(source, niva="deso", *, motor="duckdb", min_antal=None, skydda=True,
                        settings=None, geo=None, spark_session=None, granska=True) -> observations
    aggregate.count(source, niva="deso", *, motor="duckdb", settings=None, ...) -> (counts, Persons)
    aggregate.to_observations(counts, kalla, *, min_antal=None, skydda=True, granska=True) -> observations
    audit.protect(cells, *, edges, partitions, min_antal) -> Protection (audited against an intruder)
    audit.audit(cells, *, edges, partitions, min_antal) -> Audit (intervals and violations)
    disclosure.protect(cells, *, edges, partitions, min_antal) -> cells with status (linear only)
    disclosure.suppression(cells, *, edges, partitions, min_antal) -> (primary, suppressed) per row
    synthetic.draw(personer=None, seed=2022) -> pyarrow.Table (SYNTETISKA DATA)
    synthetic.write(table, path)
    synthetic.synthetic_store(personer=None, seed=2022) -> ObservationStore (SYNTETISKA DATA)

`source` is a Parquet file, a directory of Parquet files, or an in-memory Arrow/polars table
in the schema of microdata.schema.
"""

__all__ = ["aggregate", "audit", "disclosure", "schema", "synthetic"]
