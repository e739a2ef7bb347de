"""The first catalogue (66 cases): alg none, HS256 key confusion, PS256 with the RS256
key, tampered claims, embedded jwk / jku / x5u, unknown, path-traversal, /dev/null +
HS256, SQL-injection and numeric kids, empty and foreign signatures, time claims,
issuer look-alikes by prefix, typ, crit, and wrongly typed claims.

Attacks on the signature use the attacker's key; attacks on a header field or a claim
are signed with the server's own key (Lab.doctored), so only the check under attack
can refuse them."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.hazmat.primitives.serialization import PublicFormat

from tests.e2e.other_side.conftest import AUDIENCE
from tests.support.jws import compact, hs256, jwk_pem, ps256, segment
from tests.support.jwt_lab import Lab

ATTACKS: dict[str, Callable[[Lab], str]] = {
    # RFC 8725 §2.1, §3.1: the algorithm is never the token's choice.
    "alg-none": lambda lab: compact(lab.with_header(alg="none"), lab.claims, None),
    "alg-None": lambda lab: compact(lab.with_header(alg="None"), lab.claims, None),
    "alg-NONE": lambda lab: compact(lab.with_header(alg="NONE"), lab.claims, None),
    "alg-none-keeping-the-original-signature": lambda lab: lab.original_signature(lab.with_header(alg="none"), lab.claims),
    # Key confusion: the RSA public key used as an HMAC secret (RFC 8725 §2.1).
    "hs256-with-public-key-spki-pem": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(jwk_pem(lab.server_jwk, PublicFormat.SubjectPublicKeyInfo))
    ),
    "hs256-with-public-key-pkcs1-pem": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(jwk_pem(lab.server_jwk, PublicFormat.PKCS1))
    ),
    "hs256-with-public-jwk-as-published": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(json.dumps(lab.server_jwk).encode())
    ),
    "hs256-with-public-jwk-compact": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(json.dumps(lab.server_jwk, separators=(",", ":")).encode())
    ),
    "ps256-with-the-rs256-key": lambda lab: compact(lab.with_header(alg="PS256"), lab.claims, ps256(lab.insider_key)),
    # The signature must cover exactly what was signed.
    "tampered-scope-original-signature": lambda lab: lab.tampered(scope="read edit admin"),
    "tampered-client-original-signature": lambda lab: lab.tampered(sub="someone-else", client_id="someone-else"),
    "tampered-exp-original-signature": lambda lab: lab.tampered(exp=lab.claims["exp"] + 86400 * 365),
    # Keys named by the token itself (RFC 8725 §3.10) must never be trusted or fetched.
    "embedded-jwk-with-the-servers-kid": lambda lab: compact(lab.with_header(jwk=lab.attacker_jwk), lab.claims, lab.attacker),
    "embedded-jwk-with-its-own-kid": lambda lab: compact(
        lab.with_header(jwk=lab.attacker_jwk, kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    "jku-to-another-server": lambda lab: compact(
        lab.with_header(jku=f"{lab.recorder.url}/jwks.json", kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    "jku-with-the-servers-kid": lambda lab: compact(
        lab.with_header(jku=f"{lab.recorder.url}/jwks.json"), lab.claims, lab.attacker
    ),
    "x5u-to-another-server": lambda lab: compact(
        lab.with_header(x5u=f"{lab.recorder.url}/cert.pem", kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    # kid is a lookup key, nothing more.
    "unknown-kid": lambda lab: compact(lab.with_header(kid="no-such-key"), lab.claims, lab.attacker),
    "path-traversal-kid": lambda lab: compact(lab.with_header(kid="../../../../../../etc/passwd"), lab.claims, lab.attacker),
    "dev-null-kid-hs256-empty-secret": lambda lab: compact(lab.with_header(kid="/dev/null", alg="HS256"), lab.claims, hs256(b"")),
    "sql-injection-kid-hs256": lambda lab: compact(
        lab.with_header(kid="x' UNION SELECT 'secret' --", alg="HS256"), lab.claims, hs256(b"secret")
    ),
    "url-kid": lambda lab: compact(lab.with_header(kid=f"{lab.recorder.url}/key"), lab.claims, lab.attacker),
    "missing-kid": lambda lab: compact(lab.with_header(kid=...), lab.claims, lab.insider),
    "kid-as-number": lambda lab: compact(lab.with_header(kid=7), lab.claims, lab.insider),
    # Signatures that are not signatures.
    "empty-signature": lambda lab: compact(lab.header, lab.claims, None),
    "signature-of-zero-bytes": lambda lab: compact(lab.header, lab.claims, lambda data: b"\x00" * 256),
    "signature-by-the-attackers-key": lambda lab: compact(lab.header, lab.claims, lab.attacker),
    "two-segments-only": lambda lab: f"{segment(lab.header)}.{segment(lab.claims)}",
    # Time (server's own key: only the time check can refuse these).
    "expired-an-hour-ago": lambda lab: lab.doctored(iat=lab.now - 7200, exp=lab.now - 3600),
    "expired-two-minutes-ago": lambda lab: lab.doctored(iat=lab.now - 3600, exp=lab.now - 120),
    "nbf-in-an-hour": lambda lab: lab.doctored(nbf=lab.now + 3600),
    "iat-in-an-hour": lambda lab: lab.doctored(iat=lab.now + 3600, exp=lab.now + 7200),
    "missing-exp": lambda lab: lab.doctored(exp=...),
    "missing-iat": lambda lab: lab.doctored(iat=...),
    # Issuer: exact match only (RFC 9068 §4), no prefix, substring or normalisation.
    "iss-prefix-of-the-real-one": lambda lab: lab.doctored(iss=lab.claims["iss"][:-1]),
    "iss-substring-of-the-real-one": lambda lab: lab.doctored(iss="127.0.0.1"),
    "iss-real-one-as-prefix": lambda lab: lab.doctored(iss=lab.claims["iss"] + "0"),
    "iss-with-trailing-slash": lambda lab: lab.doctored(iss=lab.claims["iss"] + "/"),
    "iss-on-another-host": lambda lab: lab.doctored(iss=lab.claims["iss"] + ".evil.example"),
    "iss-https-instead-of-http": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("http://", "https://")),
    "missing-iss": lambda lab: lab.doctored(iss=...),
    "missing-aud": lambda lab: lab.doctored(aud=...),
    # Header: typ and crit (RFC 9068 §4, RFC 7515 §4.1.11).
    "typ-JWT": lambda lab: lab.doctored(lab.with_header(typ="JWT")),
    "typ-missing": lambda lab: lab.doctored(lab.with_header(typ=...)),
    "typ-application-jwt": lambda lab: lab.doctored(lab.with_header(typ="application/jwt")),
    "crit-unknown-extension": lambda lab: lab.doctored(
        lab.with_header(**{"crit": ["urn:example:must-know"], "urn:example:must-know": True})
    ),
    "crit-naming-a-registered-claim": lambda lab: lab.doctored(lab.with_header(crit=["exp"])),
    # Claims of the wrong type (RFC 7519 §2, §4.1; RFC 9068 §2.2).
    "exp-as-string": lambda lab: lab.doctored(exp=str(lab.claims["exp"])),
    "iat-as-string": lambda lab: lab.doctored(iat=str(lab.claims["iat"])),
    "nbf-as-string": lambda lab: lab.doctored(nbf="0"),
    "iat-as-boolean": lambda lab: lab.doctored(iat=True),
    "exp-as-list": lambda lab: lab.doctored(exp=[lab.claims["exp"]]),
    "exp-beyond-2-to-the-53": lambda lab: lab.doctored(exp=10**30),
    "scope-as-list": lambda lab: lab.doctored(scope=lab.claims["scope"].split(" ")),
    "scope-as-number": lambda lab: lab.doctored(scope=1),
    "aud-as-number": lambda lab: lab.doctored(aud=1),
    "aud-as-empty-list": lambda lab: lab.doctored(aud=[]),
    "aud-list-with-a-number": lambda lab: lab.doctored(aud=[AUDIENCE, 1]),
    "aud-as-object": lambda lab: lab.doctored(aud={"aud": AUDIENCE}),
    "sub-as-number": lambda lab: lab.doctored(sub=1),
    "client-id-as-list": lambda lab: lab.doctored(client_id=[lab.claims["client_id"]]),
    "jti-as-number": lambda lab: lab.doctored(jti=1),
    "iss-as-list": lambda lab: lab.doctored(iss=[lab.claims["iss"]]),
    "payload-is-a-json-array": lambda lab: compact(lab.header, [lab.claims], lab.insider),
    "payload-not-json": lambda lab: compact(lab.header, b"not json", lab.insider),
}
#: Cases naming a URL an unguarded reader would fetch (lab.recorder must see nothing).
NEVER_FETCHED = ["jku-to-another-server", "jku-with-the-servers-kid", "x5u-to-another-server", "url-kid"]
