"""Staff screens: views only; the rules live in the domains' services."""
