"""Events: self-drive trips and owner lectures, registrations, waiting list, tickets, check-in."""
