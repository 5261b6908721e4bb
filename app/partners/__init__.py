"""Partner businesses and the perks they offer club members (R9)."""
