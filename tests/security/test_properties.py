"""Property-based tests (hypothesis) of every parser that reads attacker input.

Each parser is given arbitrary input and must either return a well-formed result or
refuse with its own documented error (TokensmithError from the catalogue, ValueError
for the command line's lifetimes, TokenError / None for tokens): never another
exception, which on the server would be a 500. Where an encoding has an inverse, the
round trip is checked too. No server is needed: these run in-process and are bounded
by `max_examples` (the whole module takes a few seconds).
"""

from __future__ import annotations

import base64
import json
import re
import time
import zoneinfo
from urllib.parse import parse_qsl, quote_plus, urlencode

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials
from tokensmith.domain.introspection import read_token, verification_keys
from tokensmith.domain.keys import KeyState, new_signing_key
from tokensmith.domain.lifetimes import MAX_LIFETIME_SECONDS, DailyBoundary, FixedLifetime, parse_lifetime
from tokensmith.domain.scopes import format_scope, parse_scope
from tokensmith.domain.tokens import TokenSigner, issue_token
from tokensmith.exchange.authentication.client_secret import MAX_AUTHORIZATION_LENGTH, client_credentials, parse_basic
from tokensmith.http.parsing import (
    MAX_PARAMETERS,
    checked_head,
    form_body,
    form_parameters,
    parse_parameters,
    query_parameters,
    received_body,
    split_parameters,
)
from tokensmith.verify import InvalidToken, TokenError, TokenVerifier

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# RFC 6749 §3.3 NQCHAR without space: the characters of one scope token.
NQCHAR = "!" + "".join(chr(c) for c in range(0x23, 0x5C)) + "".join(chr(c) for c in range(0x5D, 0x7F))
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Text as a header arrives at the application: Starlette decodes header bytes as Latin-1.
header_text = st.binary(max_size=300).map(lambda raw: raw.decode("latin-1"))
any_text = st.one_of(st.text(max_size=300), header_text)


def basic_header(client_id: str, secret: str) -> str:
    """client_secret_basic exactly as RFC 6749 §2.3.1 says: each part
    application/x-www-form-urlencoded, joined by a colon, then base64 (RFC 7617)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


# -- the Basic Authorization header (exchange/authentication/client_secret.py) --------------------------------


@FAST
@given(client_id=st.text(max_size=200), secret=st.text(max_size=600))
@example(client_id="POC_NAB_Dev", secret="tks_" + "A" * 43)
@example(client_id="a:b", secret=":%+ &=")
@example(client_id="", secret="")
def test_basic_credentials_round_trip(client_id: str, secret: str) -> None:
    header = basic_header(client_id, secret)
    encoded_length = len(header) - len("Basic ")
    if not client_id and not secret:
        # base64 of ":" is "Og==": a colon and nothing else, still a Basic attempt.
        assert parse_basic(header) == ClientCredentials("", "")
    elif encoded_length > MAX_AUTHORIZATION_LENGTH:
        # Longer than any client's credentials can be: the one credential refusal.
        with pytest.raises(TokensmithError) as refused:
            parse_basic(header)
        assert refused.value.problem is Problem.INVALID_CLIENT
    else:
        assert parse_basic(header) == ClientCredentials(client_id, secret)


@FAST
@given(scheme=st.sampled_from(["Basic", "basic", "BASIC", "bAsIc"]), spaces=st.text(" ", min_size=1, max_size=4))
def test_basic_scheme_is_case_insensitive_and_spaces_are_allowed(scheme: str, spaces: str) -> None:
    encoded = basic_header("client", "secret").split(" ", 1)[1]
    assert parse_basic(f"{scheme}{spaces}{encoded}") == ClientCredentials("client", "secret")


@FAST
@given(value=any_text)
@example(value="Basic")
@example(value="Basic ====")
@example(value="Basic " + base64.b64encode(b"\xff\xfe:x").decode())
@example(value="Basic " + base64.b64encode(b"%ff:x").decode())
def test_any_authorization_value_gives_credentials_or_a_catalogue_refusal(value: str) -> None:
    try:
        credentials = parse_basic(value)
    except TokensmithError as refusal:
        assert refusal.problem in (Problem.MALFORMED_REQUEST, Problem.INVALID_CLIENT)
    else:
        assert isinstance(credentials.client_id, str) and isinstance(credentials.client_secret, str)


@FAST
@given(payload=st.binary(max_size=400))
def test_base64_of_any_bytes_gives_credentials_or_a_catalogue_refusal(payload: bytes) -> None:
    try:
        credentials = parse_basic("Basic " + base64.b64encode(payload).decode())
    except TokensmithError as refusal:
        assert refusal.problem is Problem.MALFORMED_REQUEST
    else:
        assert b":" in payload
        assert isinstance(credentials.client_secret, str)


@FAST
@given(
    authorization=st.one_of(st.none(), any_text, st.builds(basic_header, st.text(max_size=40), st.text(max_size=40))),
    form=st.dictionaries(st.sampled_from(["client_id", "client_secret", "grant_type", "scope"]), st.text(max_size=40)),
)
def test_client_credentials_from_any_header_and_form(authorization: str | None, form: dict[str, str]) -> None:
    try:
        credentials = client_credentials(authorization, form)
    except TokensmithError as refusal:
        assert refusal.problem in (Problem.MALFORMED_REQUEST, Problem.INVALID_CLIENT)
        return
    if credentials is not None:
        # Exactly one method was used (RFC 6749 §2.3): never a mix of the two.
        assert isinstance(credentials, ClientCredentials)
        if "client_secret" in form:
            assert credentials.client_secret == form["client_secret"]


# -- scope strings (domain/scopes.py) ----------------------------------------------------

scope_tokens = st.lists(st.text(alphabet=NQCHAR, min_size=1, max_size=12), min_size=1, max_size=8)


@FAST
@given(tokens=scope_tokens)
def test_valid_scope_strings_round_trip(tokens: list[str]) -> None:
    text = " ".join(tokens)
    parsed = parse_scope(text, max_length=1024)
    assert parsed == tuple(dict.fromkeys(tokens))  # in order, without duplicates
    assert format_scope(parsed) == " ".join(dict.fromkeys(tokens))


@FAST
@given(text=st.one_of(st.text(max_size=120), st.text(alphabet=NQCHAR + " \t\x00\x7f\"\\é", max_size=120)), limit=st.integers(1, 100))
def test_any_scope_string_parses_to_scope_tokens_or_a_scope_refusal(text: str, limit: int) -> None:
    try:
        parsed = parse_scope(text, max_length=limit)
    except TokensmithError as refusal:
        if len(text) > limit:  # length is checked before anything else
            assert refusal.problem is Problem.SCOPE_TOO_LONG
        elif not text:
            assert refusal.problem is Problem.SCOPE_MISSING
        else:
            assert refusal.problem is Problem.SCOPE_MALFORMED
            assert not all(SCOPE_TOKEN.fullmatch(token) for token in text.split(" "))
        return
    assert len(text) <= limit
    assert parsed and all(SCOPE_TOKEN.fullmatch(token) for token in parsed)
    assert set(parsed) == set(text.split(" "))


# -- query strings and form bodies (http/parsing.py) -------------------------------------

parameter_names = st.text(min_size=1, max_size=12)
parameter_dicts = st.dictionaries(parameter_names, st.text(max_size=40), max_size=MAX_PARAMETERS)


@FAST
@given(params=parameter_dicts)
def test_urlencoded_parameters_round_trip(params: dict[str, str]) -> None:
    assert parse_parameters(urlencode(params), "body") == params


@FAST
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet="a=&%+;0123456789abcdefABCDEF", max_size=200)))
@example(text="a=1&a=2")
@example(text="%ff=1")
@example(text="&".join(f"p{i}=1" for i in range(MAX_PARAMETERS + 1)))
def test_any_parameter_text_gives_a_dict_or_malformed(text: str) -> None:
    try:
        params = parse_parameters(text, "body")
    except TokensmithError as refusal:
        assert refusal.problem is Problem.MALFORMED_REQUEST
        return
    assert len(params) <= MAX_PARAMETERS
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


@FAST
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet="a=&%+;0123456789abcdefABCDEF", max_size=200)))
@example(text="a=1&&b=&c")
@example(text="&".join(f"p{i}" for i in range(MAX_PARAMETERS)))
@example(text="&".join(f"p{i}" for i in range(MAX_PARAMETERS + 1)))
def test_the_direct_split_is_parse_qsl(text: str) -> None:
    """split_parameters splits text with nothing to decode itself: the same pairs, and
    the same refusal, as parse_qsl."""
    try:
        expected: object = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS)
    except (ValueError, UnicodeDecodeError) as exc:
        expected = type(exc)
    try:
        found: object = split_parameters(text)
    except (ValueError, UnicodeDecodeError) as exc:
        found = type(exc)
    assert found == expected


@FAST
@given(raw=st.binary(max_size=300))
@example(raw=b"scope=%ff")
@example(raw=b"scope=\xff")
@example(raw=b"scope=edit&scope=read")
def test_any_query_string_bytes_give_a_dict_or_malformed(raw: bytes) -> None:
    request = Request({"type": "http", "method": "POST", "path": "/", "query_string": raw, "headers": []})
    try:
        params = query_parameters(request)
    except TokensmithError as refusal:
        assert refusal.problem is Problem.MALFORMED_REQUEST
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


def _form_request(body: bytes, content_type: bytes | None, chunks: int) -> Request:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    pieces = [body[: len(body) // 2], body[len(body) // 2 :]] if chunks == 2 else [body]
    messages = [{"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1} for i, piece in enumerate(pieces)]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return Request({"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}, receive)


@SLOW
@given(
    body=st.one_of(st.binary(max_size=400), st.text(max_size=200).map(str.encode)),
    content_type=st.sampled_from(
        [None, b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded; charset=UTF-8",
         b"application/x-www-form-urlencoded; charset=latin-1", b"application/json", b"text/plain", b"\xff\xfe"]
    ),
    chunks=st.sampled_from([1, 2]),
    required=st.booleans(),
    limit=st.sampled_from([256, 8192]),
)  # fmt: skip
def test_any_body_gives_a_form_or_a_catalogue_refusal(
    body: bytes, content_type: bytes | None, chunks: int, required: bool, limit: int
) -> None:
    async def read() -> dict[str, str]:
        return await form_body(_form_request(body, content_type, chunks), limit, required=required)

    headers = _form_request(body, content_type, 1).scope["headers"]
    try:
        # The same body received whole (http/protocol.py's no-I/O path) reads the same.
        head = checked_head(headers)
        received: object = form_parameters(head, received_body(head, body, limit), required=required)
    except TokensmithError as refusal:
        received = refusal.problem
    try:
        form = anyio.run(read)
    except TokensmithError as refusal:
        assert refusal.problem in (Problem.MALFORMED_REQUEST, Problem.UNSUPPORTED_MEDIA_TYPE, Problem.BODY_TOO_LARGE)
        assert received is refusal.problem
        if refusal.problem is Problem.BODY_TOO_LARGE:
            assert len(body) > limit
        return
    assert received == form
    assert len(body) <= limit
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())


# -- lifetimes (domain/lifetimes.py) -------------------------------------------------------

ZONES = sorted(zoneinfo.available_timezones())
# 2000-01-01 .. 2100-01-01: past and future rules, including the POSIX-TZ tail after 2037.
instants = st.integers(946_684_800, 4_102_444_800)
LONGEST_DAY = 25 * 3600  # a daily boundary on a day that gains an hour (DST ends)


@FAST
@given(text=st.one_of(st.text(max_size=40), st.from_regex(r"\A[0-9]{1,6}\Z"), st.from_regex(r"\A[0-9]{2}:[0-9]{2} [A-Za-z_/+-]{1,30}\Z")))
@example(text="²")
@example(text="00:00 America")
@example(text="00:00 ../../etc/passwd")
@example(text="24:00 UTC")
def test_any_lifetime_text_parses_or_is_a_value_error(text: str) -> None:
    try:
        lifetime = parse_lifetime(text)
    except ValueError:
        return
    assert isinstance(lifetime, (FixedLifetime, DailyBoundary))
    if isinstance(lifetime, FixedLifetime):
        assert 1 <= lifetime.seconds <= MAX_LIFETIME_SECONDS
    # The canonical form reads back as the same lifetime.
    assert parse_lifetime(str(lifetime)) == lifetime


@FAST
@given(seconds=st.integers(1, MAX_LIFETIME_SECONDS), now=instants)
def test_fixed_lifetimes_expire_exactly_that_many_seconds_later(seconds: int, now: int) -> None:
    assert parse_lifetime(str(seconds)).expiry(now) == now + seconds


@SLOW
@given(hour=st.integers(0, 23), minute=st.integers(0, 59), zone=st.sampled_from(ZONES), now=instants, later=st.integers(0, 3 * 86400))
@example(hour=0, minute=0, zone="America/New_York", now=1_750_392_000, later=1)
@example(hour=1, minute=30, zone="America/New_York", now=1_762_061_400, later=3600)  # 2025-11-02, the hour repeats
@example(hour=2, minute=30, zone="America/New_York", now=1_741_500_000, later=3600)  # 2025-03-09, 02:30 never happens
@example(hour=0, minute=0, zone="Pacific/Apia", now=1_325_152_800, later=7200)  # Samoa skipped 2011-12-30
def test_daily_boundary_expiry_is_ahead_within_a_day_and_an_hour_and_monotonic(
    hour: int, minute: int, zone: str, now: int, later: int
) -> None:
    lifetime = parse_lifetime(f"{hour:02d}:{minute:02d} {zone}")
    first = lifetime.expiry(now)
    assert now < first <= now + LONGEST_DAY
    # Issued later never expires earlier (a token issued after another outlives it or ties).
    assert lifetime.expiry(now + later) >= first


# -- JWT verification inputs (tokensmith.verify, domain/introspection.py) -------------------

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Keys:
    """A signing key of the server's own kind, its JWKS served to a TokenVerifier by an
    in-process transport (no network), and one real token."""

    def __init__(self) -> None:
        now = int(time.time())
        self.key = new_signing_key("RS256", KeyState.ACTIVE, now)
        jwks = {"keys": [self.key.public_jwk()]}
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=jwks))
        self.http = httpx.Client(transport=transport)
        self.verifier = TokenVerifier(ISSUER, AUDIENCE, jwks_url="https://issuer.example/jwks", http_client=self.http)
        self.verification_keys = verification_keys((self.key,))
        client = Client("property-client", scopes=("read", "edit"), lifetime=FixedLifetime(3600))
        self.token = issue_token(TokenSigner(self.key), client, issuer=ISSUER, audience=AUDIENCE, scopes=("read",), now=now).access_token


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def _verdicts(keys: Keys, token: str) -> tuple[bool, bool]:
    """(accepted by the verifier, accepted by introspection); any exception other than
    the documented refusals fails the test."""
    try:
        keys.verifier.verify(token)
        verified = True
    except TokenError:
        verified = False
    return verified, read_token(token, keys.verification_keys, ISSUER) is not None


def test_control_the_real_token_is_accepted_by_both(keys: Keys) -> None:
    assert _verdicts(keys, keys.token) == (True, True)


@FAST
@given(token=st.one_of(st.text(max_size=400), st.text(alphabet=B64URL + ".", max_size=400), header_text))
@example(token="")
@example(token="..")
@example(token="e30.e30.")
@example(token="eyJhbGciOiJub25lIn0.e30.")
def test_arbitrary_strings_are_refused_by_both(keys: Keys, token: str) -> None:
    assert _verdicts(keys, token) == (False, False)


def _mutations() -> st.SearchStrategy[tuple[str, int, str]]:
    """(kind, position, text): how to change the real token."""
    return st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate", "append", "swap-segments", "pad", "standard-alphabet"]),
        st.integers(0, 10_000),
        st.text(alphabet=B64URL + ".=+/ \n\t\x00", min_size=1, max_size=3),
    )


def mutate(token: str, kind: str, position: int, text: str) -> str:
    at = position % (len(token) + 1)
    if kind == "replace":
        return token[:at] + text + token[at + len(text) :]
    if kind == "insert":
        return token[:at] + text + token[at:]
    if kind == "delete":
        return token[:at] + token[at + len(text) :]
    if kind == "truncate":
        return token[:at]
    if kind == "append":
        return token + text
    if kind == "swap-segments":
        header, payload, signature = token.split(".")
        return [f"{payload}.{header}.{signature}", f"{header}.{signature}.{payload}", f"{header}.{payload}"][position % 3]
    if kind == "pad":  # RFC 7515 §2: base64url without padding
        segments = token.split(".")
        index = position % 3
        segments[index] += "=" * (1 + position % 2)
        return ".".join(segments)
    # standard base64 alphabet instead of base64url in one segment
    segments = token.split(".")
    index = position % 3
    segments[index] = segments[index].replace("-", "+").replace("_", "/")
    return ".".join(segments)


@SLOW
@given(mutation=_mutations())
@example(mutation=("append", 0, "\n"))
@example(mutation=("append", 0, " "))
@example(mutation=("pad", 2, "="))
@example(mutation=("pad", 3, "="))
@example(mutation=("insert", 400, " "))
def test_a_mutated_real_token_is_accepted_only_if_unchanged(keys: Keys, mutation: tuple[str, int, str]) -> None:
    token = mutate(keys.token, *mutation)
    verdicts = _verdicts(keys, token)
    if token == keys.token:
        assert verdicts == (True, True)
    else:
        assert verdicts == (False, False), f"{mutation!r} gave {token!r}"


@FAST
@given(
    header=st.dictionaries(st.sampled_from(["alg", "typ", "kid", "crit", "b64", "jku", "jwk", "cty", "x5c"]),
                           st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none(), st.lists(st.text(max_size=5), max_size=2))),
    claims=st.dictionaries(st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"]),
                           st.one_of(st.text(max_size=20), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.booleans(), st.none())),
    signature=st.binary(max_size=300),
)  # fmt: skip
def test_arbitrary_headers_and_claims_with_a_forged_signature_are_refused(
    keys: Keys, header: dict[str, object], claims: dict[str, object], signature: bytes
) -> None:
    def segment(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    token = f"{segment(header)}.{segment(claims)}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    assert _verdicts(keys, token) == (False, False)


CLAIM_VALUES = st.one_of(
    st.text(max_size=20), st.integers(-(2**70), 2**70), st.floats(), st.booleans(), st.none(),
    st.lists(st.text(max_size=8), max_size=3), st.sampled_from([ISSUER, AUDIENCE, "", 0, 2**53 + 1]),
    st.integers(0, 4_102_444_800),
)  # fmt: skip


@FAST
@given(changes=st.dictionaries(st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"]), CLAIM_VALUES, max_size=3))
def test_claims_signed_by_the_real_key_never_raise_and_agree_on_refusal(keys: Keys, changes: dict[str, object]) -> None:
    """Genuinely signed tokens (what only an insider can make): the real token's claims
    with up to three of them set to anything. Both readers accept or refuse without any
    other exception, and what introspection accepts the verifier accepts too, except for
    the two checks introspection leaves to others: the audience (reported, RFC 7662
    §2.2) and empty `sub`/`client_id`/`jti` strings (never issued)."""
    now = int(time.time())
    claims: dict[str, object] = {"iss": ISSUER, "sub": "c", "aud": AUDIENCE, "client_id": "c", "scope": "read", "iat": now, "exp": now + 600, "jti": "j"}
    claims.update(changes)
    try:
        token = TokenSigner(keys.key).sign(claims)
    except TypeError:  # orjson refuses integers past 64 bits
        assume(False)
    verified, introspected = _verdicts(keys, token)
    if introspected and not verified:
        with pytest.raises(InvalidToken, match=r"aud|is missing or not a string"):
            keys.verifier.verify(token)
    if not changes:
        assert verified and introspected
