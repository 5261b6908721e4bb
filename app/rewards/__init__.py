"""The rewards catalog, redemption and single-use vouchers."""
