"""Campaigns on the owner base (R11), in rooms: segments/ (C3), grading/ (ABC), calls/
(campaigns, targeting, call lists) and results/ (results, incentives, callbacks)."""
