"""Broadcasts: holiday greetings and special-weather warnings to the owners the campaign
filters choose, scheduled, through the outbox (quiet hours, marketing consent), once per owner."""
