"""Points accounts and tiers."""
