"""An example resource server: a small accounts API protected by tokensmith tokens."""
