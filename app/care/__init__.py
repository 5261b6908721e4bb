"""Owner care: in-app messages (reminders and the outbox arrive with the care issue)."""
