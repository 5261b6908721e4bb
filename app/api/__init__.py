"""JSON API v1 for the dealer's systems and scanning devices, with its OpenAPI document."""
