"""HQ operations (R11, seed 004): recruitment rate, chapter regions, monthly points settlement."""
