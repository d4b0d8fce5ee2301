"""Arbiter tests: the core offline (unit), and the real processes against the real stack (e2e)."""
