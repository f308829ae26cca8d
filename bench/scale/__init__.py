"""Scale benchmarks: Foresight's ingest, evaluation and end-to-end cost at many series."""
