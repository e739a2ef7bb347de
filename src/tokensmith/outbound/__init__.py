"""Every fetch tokensmith makes to a URL an operator or client registered (a
`jwks_uri`, a trusted issuer's discovery document), under one SSRF policy
(DESIGN §9): policy.py the rules, fetch.py the one fetch, key_sets.py cached
key sets, discovery.py an issuer's jwks_uri."""
