"""Campaigns (seed 000): their life, target groups, invitations, call lists and calls."""
