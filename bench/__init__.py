"""Load benchmarks: ``make bench`` (``python -m bench.run``)."""
