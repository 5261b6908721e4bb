"""Service visits (repair orders) and the points they earn."""
