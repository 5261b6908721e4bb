"""Data at scale for benchmarks: ``flask bench seed --members N`` (see ``seed.py``)."""
