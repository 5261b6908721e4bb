"""Payments for paid events: Stripe Checkout, webhooks, refunds."""
