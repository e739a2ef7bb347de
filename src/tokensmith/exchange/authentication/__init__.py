"""Client authentication for every endpoint that requires it (the token endpoints,
introspection, revocation): which method a request presents (methods.py), one module
per method, and the steps they all share behind the brute-force guard
(authenticate.py)."""
