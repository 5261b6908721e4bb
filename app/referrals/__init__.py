"""Referrals verified by pre-registration, a licence check and cross-check callback questions."""
