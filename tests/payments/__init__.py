"""Paid events: Stripe Checkout, webhooks, refunds."""
