"""Load benchmarks (``make bench``: ``python -m bench.run``) and the data they run on, made
outside app/: owners at scale (``flask bench seed``, seed.py) and a campaign at scale
(``flask bench campaign``, campaign.py)."""
