"""Runnable examples of services built on tokensmith (not part of the installed package)."""
