"""Owners' profiles, their vehicles, dealer chapters."""
