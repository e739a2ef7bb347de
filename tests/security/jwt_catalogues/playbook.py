"""The rest of a jwt_tool-style playbook (88 cases), none repeating the audit
catalogue: kid injection (SQL, commands, paths, NUL, types), algorithm confusion with
the other HMAC hashes, near-miss alg spellings, RFC 7797 b64, duplicate members,
nested and JWE-shaped tokens, respelled segments, NUL and huge-number claims, typ near
misses, keys carried by the token, and things that are not tokens at all."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import PublicFormat

from tests.support.jws import b64url, compact, es256, hmac_signer, rsa_signer, segment
from tests.support.jwt_lab import Lab


def _non_canonical(segment_text: str) -> str:
    """The same bytes with the unused low bits of the last character set (RFC 4648 §3.5)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare_bits = {2: 4, 3: 2}[len(segment_text) % 4]
    last = alphabet.index(segment_text[-1])
    return segment_text[:-1] + alphabet[last | ((1 << spare_bits) - 1)]


def _standard_alphabet(segment_text: str) -> str:
    changed = segment_text.replace("-", "+").replace("_", "/")
    assert changed != segment_text, "the real signature happens to have no - or _"
    return changed


def _b64_false(lab: Lab, *, crit: bool) -> str:
    """RFC 7797 §3: with b64 false the signing input is the header segment, a dot and
    the payload bytes as they are; the compact form carries it detached (empty)."""
    header = lab.with_header(b64=False, **({"crit": ["b64"]} if crit else {}))
    header_segment = segment(header)
    payload = json.dumps(lab.claims, separators=(",", ":")).encode()
    signature = lab.insider(header_segment.encode("ascii") + b"." + payload)
    return f"{header_segment}..{b64url(signature)}"



ATTACKS: dict[str, Callable[[Lab], str]] = {
    # kid injection: the kid is a dictionary key only, never SQL, a path or a command.
    "kid-sql-or-true-hs256-empty-key": lambda lab: compact(lab.with_header(kid="' OR '1'='1", alg="HS256"), lab.claims, hmac_signer(hashlib.sha256, b"")),
    "kid-sql-or-true-attacker-rs256": lambda lab: compact(lab.with_header(kid="' OR 1=1 --"), lab.claims, lab.attacker),
    "kid-sql-union-selecting-the-real-kid": lambda lab: compact(
        lab.with_header(kid=f"nothing' UNION SELECT '{lab.kid}"), lab.claims, lab.attacker
    ),
    "kid-sql-drop-table": lambda lab: compact(lab.with_header(kid="x'; DROP TABLE signing_keys; --"), lab.claims, lab.attacker),
    "kid-sql-comment-after-the-real-kid": lambda lab: compact(lab.with_header(kid=f"{lab.kid}'--"), lab.claims, lab.insider),
    "kid-command-pipe": lambda lab: compact(lab.with_header(kid=f"key|touch {lab.marker}", alg="HS256"), lab.claims, hmac_signer(hashlib.sha256, b"")),
    "kid-command-substitution": lambda lab: compact(lab.with_header(kid=f"$(touch {lab.marker})"), lab.claims, lab.attacker),
    "kid-command-backticks": lambda lab: compact(lab.with_header(kid=f"`touch {lab.marker}`"), lab.claims, lab.attacker),
    "kid-command-semicolon": lambda lab: compact(lab.with_header(kid=f"x; touch {lab.marker}"), lab.claims, lab.attacker),
    "kid-dev-null-hs384-empty-key": lambda lab: compact(lab.with_header(kid="/dev/null", alg="HS384"), lab.claims, hmac_signer(hashlib.sha384, b"")),
    "kid-dev-null-hs512-empty-key": lambda lab: compact(lab.with_header(kid="/dev/null", alg="HS512"), lab.claims, hmac_signer(hashlib.sha512, b"")),
    "kid-traversal-to-dev-null-hs256-empty-key": lambda lab: compact(
        lab.with_header(kid="../../../../../../../dev/null", alg="HS256"), lab.claims, hmac_signer(hashlib.sha256, b"")
    ),
    "kid-proc-self-environ": lambda lab: compact(lab.with_header(kid="/proc/self/environ"), lab.claims, lab.attacker),
    "kid-real-with-a-nul-byte": lambda lab: compact(lab.with_header(kid=lab.kid + "\x00"), lab.claims, lab.insider),
    "kid-real-with-a-nul-byte-and-more": lambda lab: compact(lab.with_header(kid=lab.kid + "\x00../../x"), lab.claims, lab.insider),
    "kid-real-with-a-trailing-space": lambda lab: compact(lab.with_header(kid=lab.kid + " "), lab.claims, lab.insider),
    "kid-real-in-other-case": lambda lab: compact(lab.with_header(kid=lab.kid.swapcase()), lab.claims, lab.insider),
    "kid-empty": lambda lab: compact(lab.with_header(kid=""), lab.claims, lab.insider),
    "kid-null": lambda lab: compact(lab.with_header(kid=None), lab.claims, lab.insider),
    "kid-as-list": lambda lab: compact(lab.with_header(kid=[lab.kid]), lab.claims, lab.insider),
    "kid-as-object": lambda lab: compact(lab.with_header(kid={"kid": lab.kid}), lab.claims, lab.insider),
    "kid-as-boolean": lambda lab: compact(lab.with_header(kid=True), lab.claims, lab.insider),
    "kid-of-4000-characters": lambda lab: compact(lab.with_header(kid="k" * 4000), lab.claims, lab.attacker),
    # Algorithm confusion beyond HS256: the public key as an HMAC secret with the other hashes.
    "hs384-with-public-key-spki-pem": lambda lab: compact(
        lab.with_header(alg="HS384"), lab.claims, hmac_signer(hashlib.sha384, lab.pem(PublicFormat.SubjectPublicKeyInfo))
    ),
    "hs512-with-public-key-spki-pem": lambda lab: compact(
        lab.with_header(alg="HS512"), lab.claims, hmac_signer(hashlib.sha512, lab.pem(PublicFormat.SubjectPublicKeyInfo))
    ),
    "hs384-with-public-key-pkcs1-pem": lambda lab: compact(
        lab.with_header(alg="HS384"), lab.claims, hmac_signer(hashlib.sha384, lab.pem(PublicFormat.PKCS1))
    ),
    "hs512-with-the-modulus-bytes": lambda lab: compact(
        lab.with_header(alg="HS512"), lab.claims,
        hmac_signer(hashlib.sha512, base64.urlsafe_b64decode(lab.server_jwk["n"] + "=" * (-len(lab.server_jwk["n"]) % 4))),
    ),
    # alg spelled almost right, with the server's own RS256 signature: only the alg check refuses.
    "alg-RS256-with-a-trailing-space": lambda lab: compact(lab.with_header(alg="RS256 "), lab.claims, lab.insider),
    "alg-RS256-with-a-leading-space": lambda lab: compact(lab.with_header(alg=" RS256"), lab.claims, lab.insider),
    "alg-rs256-lowercase": lambda lab: compact(lab.with_header(alg="rs256"), lab.claims, lab.insider),
    "alg-Rs256-mixed-case": lambda lab: compact(lab.with_header(alg="Rs256"), lab.claims, lab.insider),
    "alg-RS256-with-a-nul-byte": lambda lab: compact(lab.with_header(alg="RS256\x00"), lab.claims, lab.insider),
    "alg-as-list": lambda lab: compact(lab.with_header(alg=["RS256"]), lab.claims, lab.insider),
    "alg-null": lambda lab: compact(lab.with_header(alg=None), lab.claims, lab.insider),
    "alg-missing": lambda lab: compact(lab.with_header(alg=...), lab.claims, lab.insider),
    "alg-RS384-signed-by-the-servers-key": lambda lab: compact(lab.with_header(alg="RS384"), lab.claims, rsa_signer(lab.insider_key, hashes.SHA384())),
    "alg-RS512-signed-by-the-servers-key": lambda lab: compact(lab.with_header(alg="RS512"), lab.claims, rsa_signer(lab.insider_key, hashes.SHA512())),
    "alg-ES256-naming-the-rsa-kid": lambda lab: compact(lab.with_header(alg="ES256"), lab.claims, es256(ec.generate_private_key(ec.SECP256R1()))),
    "alg-EdDSA-naming-the-rsa-kid": lambda lab: compact(lab.with_header(alg="EdDSA"), lab.claims, ed25519.Ed25519PrivateKey.generate().sign),
    # RFC 7797 unencoded payloads change what is signed: refused, with or without crit.
    "b64-false-with-crit-detached": lambda lab: _b64_false(lab, crit=True),
    "b64-false-without-crit-detached": lambda lab: _b64_false(lab, crit=False),
    "b64-false-with-crit-and-the-encoded-payload": lambda lab: compact(
        lab.with_header(b64=False, crit=["b64"]), lab.claims, lab.insider
    ),
    "crit-empty-list": lambda lab: lab.doctored(lab.with_header(crit=[])),
    # Duplicate members: never resolved one way by one reader and another way by another.
    "duplicate-alg-none-last": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID","alg":"none"}'), lab.payload_json(), lab.insider),
    "duplicate-alg-rs256-last": lambda lab: compact(lab.header_json('{"alg":"none","typ":"at+jwt","kid":"KID","alg":"RS256"}'), lab.payload_json(), lab.insider),
    "duplicate-kid": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"attacker","kid":"KID"}'), lab.payload_json(), lab.insider),
    "duplicate-typ": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"JWT","kid":"KID","typ":"at+jwt"}'), lab.payload_json(), lab.insider),
    "duplicate-claim-sub": lambda lab: compact(
        lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), b'{"sub":"admin",' + lab.payload_json()[1:], lab.insider
    ),
    "duplicate-claim-scope": lambda lab: compact(
        lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), b'{"scope":"admin",' + lab.payload_json()[1:], lab.insider
    ),
    "duplicate-claim-exp-expired-last": lambda lab: compact(
        lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json()[:-1] + b',"exp":1}', lab.insider
    ),
    "duplicate-claim-in-a-nested-object": lambda lab: compact(
        lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json()[:-1] + b',"cnf":{"x":1,"x":2}}', lab.insider
    ),
    # Nested JWTs (RFC 7519 §5.2 cty) and JWE-shaped tokens: never unwrapped.
    "nested-cty-JWT-outer-alg-none": lambda lab: f"{segment({'alg': 'none', 'cty': 'JWT'})}.{b64url(lab.token.encode())}.",
    "nested-cty-JWT-outer-by-the-attacker": lambda lab: compact(
        {"alg": "RS256", "cty": "JWT", "typ": "at+jwt", "kid": lab.attacker_jwk["kid"]}, lab.token.encode(), lab.attacker
    ),
    "nested-cty-JWT-outer-by-the-server": lambda lab: compact(lab.with_header(cty="JWT"), lab.token.encode(), lab.insider),
    "jwe-shaped-rsa-oaep": lambda lab: ".".join(
        [segment({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": lab.kid, "typ": "at+jwt"}), b64url(b"k" * 256), b64url(b"i" * 12), segment(lab.claims), b64url(b"t" * 16)]
    ),
    "jwe-shaped-dir": lambda lab: ".".join([segment({"alg": "dir", "enc": "A128CBC-HS256", "kid": lab.kid}), "", b64url(b"i" * 16), segment(lab.claims), b64url(b"t" * 16)]),
    "real-token-plus-two-segments": lambda lab: f"{lab.token}.{segment(lab.claims)}.{lab.signature}",
    "real-token-plus-a-fourth-segment": lambda lab: f"{lab.token}.AAAA",
    "real-token-with-a-trailing-dot": lambda lab: lab.token + ".",
    "real-token-with-a-leading-dot": lambda lab: "." + lab.token,
    "real-token-with-a-doubled-dot": lambda lab: lab.token.replace(".", "..", 1),
    # The real token spelled differently (RFC 7515 §2: base64url, no padding, nothing else).
    "padded-signature": lambda lab: lab.spelled(signature=lab.signature + "=" * (-len(lab.signature) % 4 or 4)),
    "padded-signature-two": lambda lab: lab.spelled(signature=lab.signature + "=="),
    "padded-header": lambda lab: lab.spelled(header=lab.token.split(".")[0] + "=="),
    "padded-payload": lambda lab: lab.spelled(payload=lab.token.split(".")[1] + "="),
    "standard-alphabet-signature": lambda lab: lab.spelled(signature=_standard_alphabet(lab.signature)),
    "non-canonical-last-character": lambda lab: lab.spelled(signature=_non_canonical(lab.signature)),
    "newline-appended": lambda lab: lab.token + "\n",
    "crlf-appended": lambda lab: lab.token + "\r\n",
    "space-appended": lambda lab: lab.token + " ",
    "tab-appended": lambda lab: lab.token + "\t",
    "nul-appended": lambda lab: lab.token + "\x00",
    "space-prepended": lambda lab: " " + lab.token,
    "newline-inside-the-signature": lambda lab: lab.spelled(signature=lab.signature[:40] + "\n" + lab.signature[40:]),
    "bearer-prefix-included": lambda lab: "Bearer " + lab.token,
    "cyrillic-letter-in-the-signature": lambda lab: lab.spelled(signature=lab.signature[:-3] + "\u0430" + lab.signature[-2:]),
    # Claims: NUL bytes, huge numbers, issuer look-alikes (signed by the server's key).
    "iss-with-a-trailing-nul": lambda lab: lab.doctored(iss=lab.claims["iss"] + "\x00"),
    "iss-with-a-nul-then-a-host": lambda lab: lab.doctored(iss=lab.claims["iss"] + "\x00.evil.example"),
    "iss-with-cyrillic-h": lambda lab: lab.doctored(iss="\u04bb" + lab.claims["iss"][1:]),
    "iss-with-fullwidth-digit": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("1", "\uff11", 1)),
    "iss-with-a-zero-width-space": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("://", "://\u200b")),
    "iss-uppercase-scheme": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("http", "HTTP", 1)),
    "iss-with-localhost-for-127.0.0.1": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("127.0.0.1", "localhost")),
    "exp-of-400-digits": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(exp="9" * 400), lab.insider),
    "exp-1e309-infinity": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(exp="1e309"), lab.insider),
    "exp-Infinity-literal": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(exp="Infinity"), lab.insider),
    "exp-NaN-literal": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(exp="NaN"), lab.insider),
    "exp-2-to-the-53-plus-1": lambda lab: lab.doctored(exp=2**53 + 1),
    "iat-hugely-negative": lambda lab: lab.doctored(iat=-(10**30)),
    "nbf-hugely-negative-float": lambda lab: lab.doctored(nbf=-1e300),
    "exp-float-with-400-digit-exponent": lambda lab: compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(exp="1" + "0" * 400 + ".5"), lab.insider),
    # typ near misses (RFC 9068 §2.1), server's key.
    "typ-at+jwt-with-a-trailing-space": lambda lab: lab.doctored(lab.with_header(typ="at+jwt ")),
    "typ-atjwt": lambda lab: lab.doctored(lab.with_header(typ="atjwt")),
    "typ-at+jwt-with-a-nul": lambda lab: lab.doctored(lab.with_header(typ="at+jwt\x00")),
    "typ-as-list": lambda lab: lab.doctored(lab.with_header(typ=["at+jwt"])),
    # Keys carried by the token (RFC 8725 §3.10), with the attacker's signature.
    "x5c-self-signed-certificate-own-kid": lambda lab: compact(
        lab.with_header(x5c=[base64.b64encode(lab.certificate_der).decode()], kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    "x5c-self-signed-certificate-servers-kid": lambda lab: compact(
        lab.with_header(x5c=[base64.b64encode(lab.certificate_der).decode()]), lab.claims, lab.attacker
    ),
    "jwk-the-servers-own-public-key-attacker-signed": lambda lab: compact(lab.with_header(jwk=lab.server_jwk), lab.claims, lab.attacker),
    "jwk-the-servers-own-public-key-no-kid": lambda lab: compact(lab.with_header(jwk=lab.server_jwk, kid=...), lab.claims, lab.attacker),
    # Not a token at all.
    "empty": lambda lab: "",
    "whitespace-only": lambda lab: " \t\n",
    "three-empty-segments": lambda lab: "..",
    "json-instead-of-a-jwt": lambda lab: json.dumps(lab.claims),
}
