"""Maintenance scripts behind the Makefile targets (not part of the library)."""
