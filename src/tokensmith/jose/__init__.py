"""JOSE for every part of tokensmith: the issuer (domain/tokens.py, domain/keys.py), the
server reading its tokens back (domain/introspection.py) and tokensmith.verify.

One base64url codec (base64url.py), one compact JWS parser, signer and signature check
(jws.py), one JWK mapping with RFC 7638 thumbprints and one VerificationKey (jwk.py),
one strict JSON object reader (strict_json.py). One spelling per token: anything keyed on
a token (revocation, caches) must never see two strings that verify as the same token.
"""
