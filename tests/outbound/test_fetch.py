"""fetch_json against real HTTPS servers on 127.0.0.1: what it refuses it never
connects to (the server counts every TCP connection it accepts), and what it fetches
is bounded and verified."""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Callable

import pytest

from tests.outbound.conftest import LOOPBACK
from tests.outbound.servers import Pki, StaticResolver, TestServer, json_route, raw_route, redirect_route, stream_route, trickle_route
from tokensmith import metrics
from tokensmith.outbound.fetch import fetch, fetch_json
from tokensmith.outbound.policy import FetchFailed, FetchRefused, IPAddress, OutboundPolicy

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

JWKS = {"keys": []}
Serve = Callable[..., TestServer]


def fetches(result: str) -> float:
    value: float = metrics.child(metrics.outbound_fetches, result)._value.get()
    return value


async def test_an_allowed_https_url_is_fetched(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS, {"Cache-Control": "public, max-age=120"})})
    before = fetches("ok")
    fetched = await fetch(server.url("/jwks?tenant=a"), loopback_policy)
    assert fetched.document == JWKS and fetched.max_age == 120
    assert server.hits["/jwks"] == 1
    assert fetches("ok") == before + 1


async def test_a_host_name_is_resolved_by_the_system_and_its_certificate_checked(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    assert await fetch_json(server.url("/jwks", host="localhost"), loopback_policy) == JWKS
    assert server.hits["/jwks"] == 1


async def test_fetches_are_counted_by_result_only(serve: Serve, strict_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    with pytest.raises(FetchRefused):
        await fetch_json(server.url("/jwks?tenant=a"), strict_policy)
    body, _ = metrics.exposition()
    lines = [line for line in body.decode().splitlines() if line.startswith("tokensmith_outbound_fetches_total")]
    assert any(line.startswith('tokensmith_outbound_fetches_total{result="refused"} ') for line in lines)
    assert all(line.split("{", 1)[1].startswith('result="') and "tenant" not in line for line in lines)


async def test_loopback_is_refused_by_default_and_never_connected(serve: Serve, strict_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    before = fetches("refused")
    with pytest.raises(FetchRefused, match=r"127\.0\.0\.1"):
        await fetch_json(server.url("/jwks"), strict_policy)
    assert server.connections == 0
    assert fetches("refused") == before + 1


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0", "[::ffff:7f00:1]", "[::]"])
async def test_literal_loopback_forms_are_refused_without_connecting(serve: Serve, strict_policy: OutboundPolicy, host: str) -> None:
    # Each of these reaches the server on 127.0.0.1 (or would, on a dual-stack host)
    # if the guard did not stop it.
    server = serve({"/jwks": json_route(JWKS)})
    with pytest.raises(FetchRefused, match="not allowed"):
        await fetch_json(server.url("/jwks", host=host), strict_policy)
    assert server.connections == 0


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "100.64.0.1", "192.168.0.1", "[fd00:ec2::254]", "[fe80::1]"])
async def test_private_and_metadata_literals_are_refused_before_any_connection(strict_policy: OutboundPolicy, host: str) -> None:
    # FetchRefused, not FetchFailed: the policy decided, no connection was attempted.
    with pytest.raises(FetchRefused, match="not allowed"):
        await fetch_json(f"https://{host}/latest/meta-data/", strict_policy)


async def test_a_name_resolving_to_loopback_is_refused(serve: Serve, strict_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    with pytest.raises(FetchRefused, match=r"host localhost resolves to 127\.0\.0\.1"):
        await fetch_json(server.url("/jwks", host="localhost"), strict_policy)
    assert server.connections == 0


async def test_a_name_with_one_forbidden_address_among_public_ones_is_refused(serve: Serve, strict_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    resolver = StaticResolver({"keys.test": ["93.184.215.14", "127.0.0.1"]})
    with pytest.raises(FetchRefused, match=r"resolves to 127\.0\.0\.1"):
        await fetch_json(server.url("/jwks", host="keys.test"), strict_policy, resolver=resolver)
    assert server.connections == 0


async def test_http_is_refused_unless_allowed(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)}, context=None)
    with pytest.raises(FetchRefused, match="https only"):
        await fetch_json(server.url("/jwks"), loopback_policy)
    assert server.connections == 0
    allowed = OutboundPolicy(allow_http=True, allowed_networks=LOOPBACK)
    assert await fetch_json(server.url("/jwks"), allowed) == JWKS


async def test_the_connection_goes_to_the_checked_address_and_tls_checks_the_name(pki: Pki, serve: Serve, loopback_policy: OutboundPolicy) -> None:
    # The certificate names only keys.test; the system resolver knows no keys.test.
    # The fetch works only if it connects to the address it resolved and checked
    # (no second resolution) while TLS verifies the certificate against the host name.
    server = serve({"/jwks": json_route(JWKS)}, context=pki.server_context(["keys.test"]))
    resolver = StaticResolver({"keys.test": ["127.0.0.1"]})
    assert await fetch_json(server.url("/jwks", host="keys.test"), loopback_policy, resolver=resolver) == JWKS
    assert resolver.calls == ["keys.test"]
    # The same server by its address: the certificate does not name 127.0.0.1.
    with pytest.raises(FetchFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await fetch_json(server.url("/jwks"), loopback_policy)
    assert server.hits["/jwks"] == 1


async def test_dns_rebinding_cannot_move_the_connection(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    # A resolver answering an allowed address once and a forbidden one afterwards: the
    # fetch asks it once and connects where that one answer said.
    server = serve({"/jwks": json_route(JWKS)}, context=None)
    answers = iter(["127.0.0.1", "169.254.169.254"])
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address(next(answers))]

    policy = OutboundPolicy(allow_http=True, allowed_networks=LOOPBACK)
    assert await fetch_json(server.url("/jwks", host="keys.test"), policy, resolver=rebinding) == JWKS
    assert asked == ["keys.test"]


async def test_a_certificate_for_another_name_is_refused(pki: Pki, serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)}, context=pki.server_context(["other.example"]))
    with pytest.raises(FetchFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await fetch_json(server.url("/jwks", host="localhost"), loopback_policy)
    assert server.hits["/jwks"] == 0


async def test_a_certificate_from_an_untrusted_ca_is_refused(serve: Serve) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    with pytest.raises(FetchFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await fetch_json(server.url("/jwks"), OutboundPolicy(allowed_networks=LOOPBACK))  # no ca_file
    assert server.hits["/jwks"] == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(serve: Serve, loopback_policy: OutboundPolicy, status: int) -> None:
    target = serve({"/jwks": json_route(JWKS)})
    server = serve({"/jwks": redirect_route(target.url("/jwks"), status)})
    with pytest.raises(FetchFailed, match=f"redirects are not followed \\(HTTP {status}"):
        await fetch_json(server.url("/jwks"), loopback_policy)
    assert target.connections == 0


async def test_a_streamed_body_past_max_bytes_is_cut_off(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/big": stream_route(4 * 1024 * 1024)})
    policy = OutboundPolicy(allowed_networks=LOOPBACK, ca_file=loopback_policy.ca_file, max_bytes=64 * 1024)
    with pytest.raises(FetchFailed, match="larger than 65536 bytes"):
        await fetch_json(server.url("/big"), policy)


async def test_a_declared_length_past_max_bytes_is_refused_before_reading(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/big": raw_route(b'{"keys": []}' + b" " * 70_000)})
    policy = OutboundPolicy(allowed_networks=LOOPBACK, ca_file=loopback_policy.ca_file, max_bytes=64 * 1024)
    with pytest.raises(FetchFailed, match="larger than 65536 bytes"):
        await fetch_json(server.url("/big"), policy)


async def test_a_server_that_stalls_after_its_headers_times_out(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve()
    server.routes["/slow"] = server.stall_route()
    policy = OutboundPolicy(allowed_networks=LOOPBACK, ca_file=loopback_policy.ca_file, timeout_seconds=0.5)
    with pytest.raises(FetchFailed, match=r"within 0\.5 s|timed out|Timeout"):
        await fetch_json(server.url("/slow"), policy)


async def test_the_time_bound_is_on_the_whole_fetch_not_each_read(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/trickle": trickle_route(0.05)})
    policy = OutboundPolicy(allowed_networks=LOOPBACK, ca_file=loopback_policy.ca_file, timeout_seconds=0.5)
    with pytest.raises(FetchFailed, match=r"no complete answer from 127\.0\.0\.1 within 0\.5 s"):
        await fetch_json(server.url("/trickle"), policy)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>keys</html>", "not a JSON document"),
        (b'{"keys": [], "keys": [{"kty": "oct"}]}', "duplicate member name"),
        (b"[]", "not a JSON object"),
        (b'{"n": NaN}', "non-standard JSON constant"),
        (b"\xff\xfe{}", "not a JSON document"),
    ],
)
async def test_anything_but_one_strict_json_object_fails(serve: Serve, loopback_policy: OutboundPolicy, body: bytes, reason: str) -> None:
    server = serve({"/jwks": raw_route(body)})
    with pytest.raises(FetchFailed, match=reason):
        await fetch_json(server.url("/jwks"), loopback_policy)


async def test_an_error_status_fails_with_the_status(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": raw_route(b"{}", status=503)})
    with pytest.raises(FetchFailed, match="HTTP 503") as failed:
        await fetch_json(server.url("/jwks"), loopback_policy)
    assert failed.value.status == 503
    with pytest.raises(FetchFailed) as missing:
        await fetch_json(server.url("/nothing"), loopback_policy)
    assert missing.value.status == 404


async def test_an_unreachable_server_fails(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    server.stop()
    before = fetches("failed")
    with pytest.raises(FetchFailed, match=r"fetch from 127\.0\.0\.1 failed"):
        await fetch_json(server.url("/jwks"), loopback_policy)
    assert fetches("failed") == before + 1


async def test_refusals_are_logged_with_the_host_and_never_the_path_or_query(
    serve: Serve, strict_policy: OutboundPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve({"/jwks": json_route(JWKS)})
    secret = "assertion-eyJhbGciOi"
    with caplog.at_level(logging.WARNING, logger="tokensmith.outbound"), pytest.raises(FetchRefused) as refused:
        await fetch_json(server.url(f"/jwks?token={secret}", host="localhost"), strict_policy)
    [record] = [r for r in caplog.records if r.name == "tokensmith.outbound"]
    assert record.levelno == logging.WARNING and record.__dict__["host"] == "localhost"
    assert secret not in record.getMessage() and secret not in str(refused.value)
    assert "/jwks" not in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tokensmith.outbound"), pytest.raises(FetchRefused):
        await fetch_json(f"http://keys.example.com/jwks?token={secret}", strict_policy)
    [record] = [r for r in caplog.records if r.name == "tokensmith.outbound"]
    assert record.__dict__["host"] == "keys.example.com" and secret not in record.getMessage()


async def test_the_ssl_context_verifies_by_default() -> None:
    from tokensmith.outbound.fetch import _ssl_context

    context = _ssl_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
