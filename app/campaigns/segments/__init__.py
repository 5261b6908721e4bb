"""C3 segments (seed 000): owners in eight groups per period, and HQ's thresholds."""
