"""Campaigns on the owner base (R11): C3 segments first."""
