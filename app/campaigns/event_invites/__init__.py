"""Invitations to an event for the owners the campaign filters choose (issue 21)."""
