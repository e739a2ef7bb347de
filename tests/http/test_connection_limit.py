"""http/connection_limit.py: what counts as one source address, and who is exempt.
(The cap against a real server: tests/http/test_protocol.py.)"""

from __future__ import annotations

from tokensmith.http.connection_limit import ConnectionLimit


def test_an_address_is_admitted_up_to_the_cap_and_again_after_a_release() -> None:
    limit = ConnectionLimit(2, (), 64)
    keys = [limit.admit("192.0.2.1"), limit.admit("192.0.2.1")]

    assert limit.admit("192.0.2.1") is None
    assert limit.admit("192.0.2.2") == "192.0.2.2"  # another address has its own count
    limit.release(keys[0] or "")
    assert limit.admit("192.0.2.1") == "192.0.2.1"


def test_one_ipv6_prefix_is_one_source_and_a_mapped_ipv4_address_is_the_ipv4_address() -> None:
    limit = ConnectionLimit(1, (), 64)

    assert limit.admit("2001:db8::1") == "2001:db8::/64"
    assert limit.admit("2001:db8::ffff:2") is None  # another host number in the same /64
    assert limit.admit("::ffff:192.0.2.7") == "192.0.2.7"
    assert limit.admit("192.0.2.7") is None


def test_trusted_proxies_and_a_cap_of_zero_are_never_counted() -> None:
    proxied = ConnectionLimit(1, ("10.0.0.0/8",), 64)
    uncapped = ConnectionLimit(0, (), 64)

    assert all(proxied.admit("10.1.2.3") == "" for _ in range(5))
    assert all(uncapped.admit("192.0.2.1") == "" for _ in range(5))
    proxied.release("")  # an uncounted connection's release changes nothing
    assert proxied.admit("192.0.2.1") == "192.0.2.1"
