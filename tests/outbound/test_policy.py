"""The outbound policy's rules on addresses and URLs (no network here; test_fetch.py
proves a refused fetch never connects)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tokensmith.config import Settings
from tokensmith.outbound.policy import FetchRefused, OutboundPolicy, address_allowed, check_url

DEFAULT = OutboundPolicy()

FORBIDDEN = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # AWS / GCP / Azure instance metadata
    "169.254.170.2",  # ECS task metadata
    "100.64.0.1",
    "100.100.100.200",  # Alibaba metadata, in CGNAT space
    "192.0.0.192",  # Oracle Cloud metadata
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS IPv6 instance metadata
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "2001::1",  # Teredo
    "100::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::8.8.8.8",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.32.0.1",  # just past 172.16/12
    "100.128.0.1",  # just past 100.64/10
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8 (an IPv6-only network with DNS64)
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_special_purpose_addresses_are_refused(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address), DEFAULT)


@pytest.mark.parametrize("address", ALLOWED)
def test_globally_reachable_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address), DEFAULT)


def test_an_allowed_network_overrides_the_rules_for_its_addresses_only() -> None:
    policy = OutboundPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16")))
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), policy)
    assert address_allowed(ipaddress.ip_address("10.1.2.3"), policy)
    assert address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), policy)  # the same destination
    assert not address_allowed(ipaddress.ip_address("10.2.0.1"), policy)
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"), policy)
    assert not address_allowed(ipaddress.ip_address("::1"), policy)


def test_a_scoped_link_local_address_is_still_link_local() -> None:
    assert not address_allowed(ipaddress.ip_address("fe80::1%2"), DEFAULT)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://keys.example.com/jwks", "https only"),
        ("ftp://keys.example.com/jwks", "not an absolute http(s) URL"),
        ("/jwks", "not an absolute http(s) URL"),
        ("https:///jwks", "not an absolute http(s) URL"),
        ("https://user:pass@keys.example.com/jwks", "userinfo"),
        ("https://keys.example.com/jwks#frag", "fragment"),
        ("https://keys.example.com/jwks#", "fragment"),
        ("https://keys.example.com/" + "a" * 2048, "longer than 2048"),
        ("https://keys.example.com/\r\nX-Injected: 1", "printable ASCII"),
        ("https://keys.example.com/a b", "printable ASCII"),
        ("https://kéys.example.com/", "printable ASCII"),
        ("https://keys.example.com:99999/", "not well-formed"),
        ("https://keys.example.com:0/", "port 0"),
        ("https://10.0.0.1/jwks", "not allowed"),
        ("https://169.254.169.254/latest/meta-data/", "not allowed"),
        ("https://[::ffff:127.0.0.1]/", "not allowed"),
        ("https://[::1]/", "not allowed"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://0.0.0.0/", "not allowed"),
        ("https://100.64.0.1/", "not allowed"),
        ("https://2130706433/", "not a canonical IPv4"),  # 127.0.0.1 to inet_aton
        ("https://127.1/", "not a canonical IPv4"),
        ("https://0x7f.0.0.1/", "not a canonical IPv4"),
        ("https://0177.0.0.1/", "not a canonical IPv4"),
        ("https://127.0.0.1./", "not a canonical IPv4"),
        ("https://keys_$.example.com/", "not a valid host name"),
    ],
)
def test_urls_outside_the_rules_are_refused_naming_the_rule(url: str, rule: str) -> None:
    with pytest.raises(FetchRefused) as refused:
        check_url(url, DEFAULT)
    assert rule in refused.value.reason
    assert "pass" not in refused.value.reason and "meta-data" not in refused.value.reason  # no userinfo, no path


def test_a_well_formed_url_gives_its_parts() -> None:
    target = check_url("https://Keys.Example.com:8443/a/jwks?tenant=1", DEFAULT)
    assert (target.host, target.port, target.authority, target.path) == ("keys.example.com", 8443, "Keys.Example.com:8443", "/a/jwks?tenant=1")
    assert check_url("https://keys.example.com", DEFAULT).path == "/"
    assert check_url("https://[2606:4700:4700::1111]/", DEFAULT).literal == ipaddress.ip_address("2606:4700:4700::1111")


def test_http_only_when_allowed() -> None:
    assert check_url("http://keys.example.com/", OutboundPolicy(allow_http=True)).port == 80


def test_the_policy_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_ALLOW_HTTP", "true")
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8, ::1")
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_MAX_BYTES", "4096")
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_CA_FILE", "/etc/private-ca.pem")
    policy = OutboundPolicy.from_settings(Settings())
    assert policy == OutboundPolicy(
        allow_http=True,
        allowed_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")),
        timeout_seconds=2.5,
        max_bytes=4096,
        ca_file="/etc/private-ca.pem",
    )


def test_the_networks_may_be_a_list_in_the_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "tokensmith.toml"
    config.write_text('outbound_allowed_networks = ["10.20.0.0/16", "fd12::/48"]\n')
    monkeypatch.delenv("TOKENSMITH_OUTBOUND_ALLOWED_NETWORKS", raising=False)
    monkeypatch.setenv("TOKENSMITH_CONFIG", str(config))
    policy = OutboundPolicy.from_settings(Settings())
    assert address_allowed(ipaddress.ip_address("10.20.1.1"), policy) and address_allowed(ipaddress.ip_address("fd12::1"), policy)
    assert not address_allowed(ipaddress.ip_address("10.21.1.1"), policy)


def test_a_setting_that_is_not_a_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSMITH_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,localhost")
    with pytest.raises(ValueError, match="not an address or CIDR network: 'localhost'"):
        Settings()


def test_defaults_are_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALLOW_HTTP", "ALLOWED_NETWORKS", "TIMEOUT_SECONDS", "MAX_BYTES", "CA_FILE"):
        monkeypatch.delenv(f"TOKENSMITH_OUTBOUND_{name}", raising=False)
    monkeypatch.delenv("TOKENSMITH_CONFIG", raising=False)
    settings = Settings()
    assert OutboundPolicy.from_settings(settings) == OutboundPolicy()
    assert (settings.jwks_min_refresh_seconds, settings.jwks_max_age_seconds, settings.jwks_max_stale_seconds) == (60, 300, 86400)
