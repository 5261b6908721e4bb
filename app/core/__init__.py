"""Shared plumbing: base model, clock, tokens, audit log, errors, permissions."""
