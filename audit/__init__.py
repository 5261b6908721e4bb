"""``make audit``: Lighthouse mobile scores of the owner and gate pages (see run.py)."""
