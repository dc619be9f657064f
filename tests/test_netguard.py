"""The shared address policy: public addresses only unless a network is allowed; IPv6 forms that
carry an IPv4 address are judged by that IPv4 address."""

from __future__ import annotations

import ipaddress

import pytest

from anchor.errors import InputError
from anchor.netguard import address_allowed, check_url, embedded_ipv4, parse_networks

PUBLIC_V4 = "93.184.216.34"


@pytest.mark.parametrize(
    ("form", "embedded"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (deprecated)
        ("::a9fe:a9fe", "169.254.169.254"),  # IPv4-compatible cloud metadata
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 well-known prefix
        ("64:ff9b::c0a8:101", "192.168.1.1"),
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("2002:a00:1::", "10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, client 127.0.0.1 (obfuscated)
    ],
)
def test_ipv6_forms_of_private_ipv4_are_refused(form: str, embedded: str) -> None:
    addr = ipaddress.ip_address(form)
    assert ipaddress.ip_address(embedded) in embedded_ipv4(addr)
    assert not address_allowed(addr)
    with pytest.raises(InputError, match="non-public"):
        check_url(f"http://[{form}]/feed")


@pytest.mark.parametrize("form", ["fec0::1", "fec0::7f00:1", "64:ff9b:1::a00:1", "::1", "::", "fe80::1", "fc00::1"])
def test_site_local_local_use_nat64_and_other_local_ipv6_are_refused(form: str) -> None:
    assert not address_allowed(ipaddress.ip_address(form))


def test_embedded_public_addresses_pass_and_are_not_mistaken_for_private() -> None:
    for form in (f"::ffff:{PUBLIC_V4}", "64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:4700:4700::1111"):
        assert address_allowed(ipaddress.ip_address(form)), form
    assert address_allowed(ipaddress.ip_address(PUBLIC_V4))
    for v4 in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"):
        assert not address_allowed(ipaddress.ip_address(v4)), v4


def test_an_allowed_network_opens_its_addresses_in_every_form() -> None:
    allowed = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    for form in ("127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::", "10.9.9.9"):
        assert address_allowed(ipaddress.ip_address(form), allowed), form
    assert not address_allowed(ipaddress.ip_address("127.0.0.2"), allowed)
    assert not address_allowed(ipaddress.ip_address("::1"), allowed)
    check_url("http://127.0.0.1:9/feed", allowed)


def test_names_resolving_to_loopback_and_odd_spellings_are_refused() -> None:
    for url in ("http://localhost/feed", "http://2130706433/feed", "http://0x7f.1/feed", "ftp://example.org/x"):
        with pytest.raises(InputError):
            check_url(url)


def test_bad_networks_name_the_field() -> None:
    with pytest.raises(InputError) as e:
        parse_networks(["intranet"], field="feeds.allow_networks")
    assert e.value.field == "feeds.allow_networks"
