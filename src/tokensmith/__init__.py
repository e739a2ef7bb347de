"""tokensmith: an OAuth 2.0 token service for machine-to-machine APIs."""

__version__ = "0.1.0"
