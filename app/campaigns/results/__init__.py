"""A campaign's outcome (seed 000): results, staff incentives, satisfaction callbacks."""
